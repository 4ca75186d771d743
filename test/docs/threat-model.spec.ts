import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const THREAT_MODEL = readFileSync(join(ROOT, 'docs', 'threat-model.md'), 'utf8');

/** Every test file of the project, by file name (names are unique across src/ and test/). */
function testFiles(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) testFiles(path, found);
    else if (/\.(e2e-)?spec\.ts$/.test(entry.name)) found.set(basename(path), path);
  }
  return found;
}

/**
 * `file.e2e-spec.ts` › "title": a test the threat model says proves a control. Titles are
 * written as the test names them; `%s` and other printf-style placeholders of `it.each`
 * stay as they are in the source.
 */
const REFERENCE = /`([\w.-]+\.(?:e2e-)?spec\.ts)`(?: › "((?:[^"\\]|\\.)+)")?/g;

describe('docs/threat-model.md', () => {
  const files = new Map([...testFiles(join(ROOT, 'src')), ...testFiles(join(ROOT, 'test'))]);
  const references = [...THREAT_MODEL.matchAll(REFERENCE)].map(([, file = '', title]) => ({
    file,
    title: title?.replace(/\\"/g, '"'),
  }));

  it('should name tests, at least one for each OWASP API risk and seed topic', () => {
    const risks = THREAT_MODEL.split('\n').filter((line) => /^\| (?!Risk \||Topic \||---)/.test(line));
    expect(risks.filter((row) => /^\| API\d+ /.test(row))).toHaveLength(10);
    expect(risks.length).toBeGreaterThanOrEqual(10 + 12);
    for (const row of risks) expect(row, row.slice(0, 60)).toMatch(REFERENCE);
    expect(references.length).toBeGreaterThan(40);
  });

  it('should name only tests that exist, under the titles they have', () => {
    const missing = references.filter(({ file, title }) => {
      const path = files.get(file);
      if (!path) return true;
      if (!title) return false;
      const source = readFileSync(path, 'utf8');
      return !["'", '"', '`'].some((quote) => source.includes(`${quote}${title}`));
    });
    expect(missing).toEqual([]);
  });
});
