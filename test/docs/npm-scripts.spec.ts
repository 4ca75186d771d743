import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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
    expect(pkg.scripts['start:prod']).toBe(`${WRAPPER}node --import ./dist/otel.js dist/main.js`);
  });
});
