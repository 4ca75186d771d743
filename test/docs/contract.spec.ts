import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../../src/common/auth/permission.js';
import { ROLE_PERMISSIONS, ROLES } from '../../src/common/auth/roles.js';
import { roleTable } from '../support/contract.js';
import { ROOT } from './doc-examples.js';

const contract = readFileSync(join(ROOT, 'docs/contract.md'), 'utf8');

/** docs/contract.md is the human-readable rule; the code must say the same. */
describe('docs/contract.md', () => {
  it('should list every permission and every role of the code, in its role table', () => {
    const table = roleTable(contract);
    expect(table.permissions).toEqual([...PERMISSIONS]);
    expect(table.roles).toEqual([...ROLES]);
  });

  it('should grant each role exactly what src/common/auth/roles.ts grants it', () => {
    const { grants } = roleTable(contract);
    for (const role of ROLES) {
      expect({ role, grants: grants[role]?.toSorted() }).toEqual({ role, grants: [...ROLE_PERMISSIONS[role]].sort() });
    }
  });

  it('should name only problem types the server answers with', () => {
    const codes = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      for (const [, code] of readFileSync(join(ROOT, 'src', file), 'utf8').matchAll(/readonly code = '([a-z-]+)'/g)) {
        codes.add(code as string);
      }
    }
    const named = [...contract.matchAll(/urn:problem:([a-z-]+)/g)].map(([, code]) => code as string);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((code) => !codes.has(code))).toEqual([]);
  });

  it('should be what the repository cites for its rules, with nothing pointing outside it', () => {
    const files = ['README.md', 'SECURITY.md', 'scripts', 'src', 'test', 'docs', 'bench'].flatMap((entry) =>
      entry.includes('.')
        ? [entry]
        : readdirSync(join(ROOT, entry), { recursive: true, encoding: 'utf8' })
            .filter((name) => /\.(ts|mjs|md)$/.test(name) && !name.includes('node_modules'))
            .map((name) => join(entry, name)),
    );
    // The one reference out, by design: the optional benchmark peer kit, looked for beside the
    // project (BENCH_PEER_DIR overrides it); nothing of the contract comes from it.
    const allowed = [join('test', 'docs', 'contract.spec.ts'), join('bench', 'peer.ts')];
    const outside = files.filter((file) => {
      if (allowed.includes(file)) return false;
      return /\bAPI\.md\b|\.\.\/shared\b/.test(readFileSync(join(ROOT, file), 'utf8'));
    });
    expect(outside).toEqual([]);
  });
});
