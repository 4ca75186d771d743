import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRODUCTION_NODE_FLAGS, nodeFlags } from '../../bench/server.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  devEngines: { runtime: { name: string; version: string } };
  scripts: Record<string, string>;
};
const WRAPPER = 'node scripts/with-node.mjs ';

describe('npm scripts', () => {
  it('should run every command through scripts/with-node.mjs, so each gets a Node recent enough', () => {
    for (const [name, script] of Object.entries(pkg.scripts)) {
      for (const command of script.split('&&').map((part) => part.trim())) {
        // `npm run <other>` is fine: that script goes through the wrapper itself.
        if (/^npm run [\w:-]+$/.test(command)) {
          expect(pkg.scripts[command.slice('npm run '.length)], `${name}: ${command}`).toBeDefined();
          continue;
        }
        expect(command.startsWith(WRAPPER), `${name}: ${command}`).toBe(true);
      }
    }
  });

  it('should declare one Node minimum, in engines and devEngines alike', () => {
    expect(pkg.devEngines.runtime).toMatchObject({ name: 'node', version: pkg.engines.node });
  });

  it('should give npm run dev a watch mode and npm run start:prod the tracing hook', () => {
    expect(pkg.scripts.dev).toBe(`${WRAPPER}nest start --watch`);
    expect(pkg.scripts['start:prod']).toBe(
      `${WRAPPER}node --max-semi-space-size=8 --max-old-space-size=192 --no-allocation-site-pretenuring --import ./dist/otel.js dist/main.js`,
    );
  });

  it('should run the image, the Kubernetes pods and the bench with the Node flags of npm run start:prod', () => {
    const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    const startProd = nodeFlags(pkg.scripts['start:prod']!.split(' '));
    expect(startProd).toEqual([
      '--max-semi-space-size=8',
      '--max-old-space-size=192',
      '--no-allocation-site-pretenuring',
    ]);
    const dockerCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1] ?? '[]') as string[];
    expect(nodeFlags(dockerCmd)).toEqual(startProd);
    const podCommand = JSON.parse(
      /^\s*command: (\[.*\])$/m.exec(read('deploy/kubernetes/deployment.yaml'))?.[1] ?? '[]',
    ) as string[];
    expect(nodeFlags(podCommand)).toEqual(startProd);
    expect(PRODUCTION_NODE_FLAGS).toEqual(startProd);
  });
});
