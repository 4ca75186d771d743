import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { ROOT } from './doc-examples.js';

const BEGIN = '<!-- module-map:begin (checked by test/docs/module-map.spec.ts) -->';
const END = '<!-- module-map:end -->';

/**
 * The module map as the imports draw it: one arrow per module that imports another, labelled
 * with what it imports. Arrows into src/common and src/config (every module has them) and
 * db/entities.ts (the entity registry) are left out.
 */
export async function moduleMap(): Promise<string> {
  const { options } = ((await import(join(ROOT, '.dependency-cruiser.cjs'))) as { default: IConfiguration }).default;
  const result = await cruise([join(ROOT, 'src/modules')], {
    ...options,
    baseDir: ROOT,
    ruleSet: undefined,
    validate: false,
    tsConfig: { fileName: join(ROOT, 'tsconfig.json') },
  } as never);
  const { modules } = result.output as ICruiseResult;
  const edges = new Map<string, Set<string>>();
  const nodes = new Set<string>();
  for (const module of modules) {
    const from = /^src\/modules\/([^/]+)\//.exec(module.source)?.[1];
    if (!from) continue;
    nodes.add(from);
    for (const dependency of module.dependencies) {
      const match = /^src\/modules\/([^/]+)\/(?:.*\/)?([^/]+)\.ts$/.exec(dependency.resolved);
      if (!match || match[1] === from) continue;
      const key = `${from} --> ${match[1]}`;
      edges.set(key, (edges.get(key) ?? new Set()).add(match[2] as string));
    }
  }
  const id = (name: string) => name.replace(/-/g, '_');
  const lines = ['```mermaid', 'flowchart LR'];
  for (const node of [...nodes].sort()) lines.push(`  ${id(node)}["${node}"]`);
  for (const [key, files] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    const [from, to] = key.split(' --> ') as [string, string];
    lines.push(`  ${id(from)} -- "${[...files].sort().join(', ')}" --> ${id(to)}`);
  }
  lines.push('```');
  return lines.join('\n');
}

describe('docs/architecture.md module map', () => {
  it('should be the map the imports draw (paste the expected block when it is not)', async () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, `docs/architecture.md has no ${BEGIN} line`).toBeGreaterThan(-1);
    expect(doc.slice(start + BEGIN.length, end).trim()).toBe(await moduleMap());
  });
});
