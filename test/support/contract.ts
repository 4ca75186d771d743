import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CONTRACT = join(import.meta.dirname, '..', '..', 'docs', 'contract.md');
const BEGIN = '<!-- roles-table:begin -->';
const END = '<!-- roles-table:end -->';

/** The role table of docs/contract.md, as written by hand: the oracle the code is checked against. */
export interface RoleTable {
  roles: string[];
  permissions: string[];
  grants: Record<string, string[]>;
}

export function roleTable(markdown = readFileSync(CONTRACT, 'utf8')): RoleTable {
  const start = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/contract.md has no ${BEGIN} … ${END} block`);
  const rows = markdown
    .slice(start + BEGIN.length, end)
    .split('\n')
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
  const [header, , ...body] = rows;
  if (!header) throw new Error('the role table has no header');
  const roles = header.slice(1, -1);
  const grants: Record<string, string[]> = Object.fromEntries(roles.map((role) => [role, []]));
  const permissions: string[] = [];
  for (const cells of body) {
    const permission = (cells[0] ?? '').replace(/`/g, '');
    permissions.push(permission);
    roles.forEach((role, i) => {
      if (cells[i + 1] === '✓') grants[role]?.push(permission);
    });
  }
  return { roles, permissions, grants };
}
