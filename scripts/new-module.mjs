/**
 * `npm run new:module -- <name>`: a feature module like src/modules/resources, from the
 * templates in scripts/module-template (written for the sample name `field-notes`), and its
 * registration: permissions and the role that gets them, the OAuth consent words, the
 * entity, the migration, the module, its audit actions and its rows of the contract's role
 * table (docs/contract.md). Nothing is written unless every file is new and
 * every registry has the anchor its edit needs; docs/adding-a-module.md walks through it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE = join(ROOT, 'scripts/module-template');
const SAMPLE = 'field-notes';
const SAMPLE_TIMESTAMP = '0000000000000';
/** The longest table name whose index and constraint names stay within Postgres's 63 characters. */
const MAX_NAME_LENGTH = 40;
const RESERVED_WORDS = new Set(
  `arguments await break case catch class const continue debugger default delete do else enum eval export
  extends false finally for function if implements import in instanceof interface let new null package private
  protected public return static super switch this throw true try typeof var void while with yield`.split(/\s+/),
);

/** Globals a class of the module's singular name would hide (`dates` would declare a class Date). */
const GLOBALS = new Set(
  `Array Boolean Buffer Date Error JSON Map Math Number Object Partial Pick Promise Record Set String Symbol
  URL`.split(/\s+/),
);

class GeneratorError extends Error {}
const fail = (message) => {
  throw new GeneratorError(message);
};

const capitalize = (word) => word[0].toUpperCase() + word.slice(1);

/** English plurals the regular way: categories, boxes, statuses, notes. */
function singularOf(word) {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ss|x|z|ch|sh|[bnprst]us)es$/.test(word)) return word.slice(0, -2);
  return word.slice(0, -1);
}

/** Every spelling of a name the templates use, plural and singular. */
function namesOf(name) {
  const segments = name.split('-');
  const forms = (parts) => ({
    kebab: parts.join('-'),
    snake: parts.join('_'),
    pascal: parts.map(capitalize).join(''),
    camel: parts[0] + parts.slice(1).map(capitalize).join(''),
    words: parts.join(' '),
    sentence: capitalize(parts.join(' ')),
  });
  return { plural: forms(segments), singular: forms([...segments.slice(0, -1), singularOf(segments.at(-1))]) };
}

function validName(name) {
  if (!/^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/.test(name ?? '')) {
    fail(`"${name}" is not a name: use lower kebab-case, letters first (notes, invoice-items)`);
  }
  if (name.length > MAX_NAME_LENGTH) fail(`"${name}" is longer than ${MAX_NAME_LENGTH} characters`);
  const last = name.split('-').at(-1);
  if (!last.endsWith('s') || last.endsWith('ss') || last.length < 3) {
    fail(`"${name}" should be a plural noun ending in s, like the route it names (notes, invoice-items)`);
  }
  const names = namesOf(name);
  for (const identifier of [names.plural.camel, names.singular.camel]) {
    if (RESERVED_WORDS.has(identifier)) fail(`"${name}" would need the reserved word "${identifier}" as a variable`);
  }
  if (GLOBALS.has(names.singular.pascal))
    fail(`"${name}" would name a class ${names.singular.pascal}, hiding the global`);
  return names;
}

async function filesUnder(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** Refuses a name some module, table, route or permission already has. */
async function assertUnused(names) {
  const { kebab, snake } = names.plural;
  if (existsSync(join(ROOT, 'src/modules', kebab))) fail(`src/modules/${kebab} already exists`);
  const sources = await Promise.all(
    (await filesUnder(join(ROOT, 'src'))).filter((f) => f.endsWith('.ts')).map((f) => readFile(f, 'utf8')),
  );
  const taken = (pattern) => sources.some((source) => pattern.test(source));
  const tables = [/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/g, /@Entity\(\{ name: '(\w+)'/g, /TableName: '(\w+)'/g];
  const tableNames = sources.flatMap((source) => tables.flatMap((re) => [...source.matchAll(re)].map((m) => m[1])));
  if (tableNames.includes(snake)) fail(`a table named ${snake} already exists`);
  if (taken(new RegExp(`api/v1/${kebab}['/]`))) fail(`a route /api/v1/${kebab} already exists`);
  if (taken(new RegExp(`'${kebab}:`))) fail(`permissions ${kebab}:* already exist`);
}

/**
 * The templates with the sample's names replaced by `names`. Every spelling is first turned
 * into a marker, so that a spelling the table misses shows up as a leftover of the sample.
 */
async function render(names, timestamp) {
  const sample = namesOf(SAMPLE);
  const spellings = [[SAMPLE_TIMESTAMP, timestamp]];
  for (const number of ['plural', 'singular']) {
    for (const form of Object.keys(sample[number])) spellings.push([sample[number][form], names[number][form]]);
  }
  spellings.sort(([a], [b]) => b.length - a.length);
  const pattern = new RegExp(spellings.map(([from]) => from.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|'), 'g');
  const markers = new Map(spellings.map(([from], i) => [from, `\uE000${i}\uE001`]));
  const replace = (text, where) => {
    const marked = text.replace(pattern, (match) => markers.get(match));
    const leftover = /field[\s_-]?notes?/i.exec(marked);
    if (leftover)
      fail(`template ${where}: "${leftover[0]}" is a spelling of the sample name this script does not know`);
    return marked.replace(/\uE000(\d+)\uE001/g, (_, i) => spellings[Number(i)][1]);
  };
  const files = [];
  for (const file of await filesUnder(TEMPLATE)) {
    const where = relative(TEMPLATE, file);
    files.push({ path: replace(where, where), text: replace(await readFile(file, 'utf8'), where) });
  }
  return files;
}

/** Names a file binds twice (an import and a class of the same name): a name that clashes with the code. */
function assertNoClashes(files, name) {
  for (const { path, text } of files) {
    const imported = [...text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from/g)].flatMap((m) =>
      m[1]
        .split(',')
        .map((spec) =>
          spec
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)
            .at(-1),
        )
        .filter(Boolean),
    );
    const declared = [...text.matchAll(/^(?:export\s+)?(?:class|interface|type|function|const|let|enum)\s+(\w+)/gm)];
    const bound = [...imported, ...declared.map((m) => m[1])];
    const twice = bound.find((identifier, i) => bound.indexOf(identifier) !== i);
    if (twice) fail(`"${name}" would make ${path} declare ${twice} twice; choose another name`);
  }
}

/** The index of the bracket that closes the one at `open`, skipping strings and comments. */
function closingBracket(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (text.startsWith('//', i) || text.startsWith('/*', i)) {
      const end = text.startsWith('//', i) ? text.indexOf('\n', i) : text.indexOf('*/', i) + 1;
      if (end < i) return -1;
      i = end;
    } else if ('[{('.includes(c)) {
      depth++;
    } else if (']})'.includes(c) && --depth === 0) {
      return i;
    }
  }
  return -1;
}

/** One registry file and the edits to make to it, each anchored on text it must find. */
class Registry {
  constructor(file, text) {
    this.file = file;
    this.text = text;
  }

  /** Adds entries to the array or object literal that `opener` (ending in `[` or `{`) starts. */
  append(opener, entries, after = '') {
    const from = this.text.indexOf(after);
    const start = from < 0 ? -1 : this.text.indexOf(opener, from);
    if (start < 0) fail(`${this.file}: cannot find "${opener}" to add ${entries.join(', ')} to; add them by hand`);
    const open = start + opener.length - 1;
    const close = closingBracket(this.text, open);
    if (close < 0) fail(`${this.file}: "${opener}" is never closed`);
    // A conditional tail (`...(flag ? [X] : [])`) stays last.
    const spread = this.text.slice(open, close).search(/\n\s*\.\.\./);
    const at = spread >= 0 ? open + spread : this.text.slice(0, close).trimEnd().length;
    const before = this.text.slice(0, at).trimEnd();
    const comma = before.endsWith(',') || before.endsWith(opener.at(-1)) ? '' : ',';
    this.text = `${before}${comma}\n${entries.map((entry) => `${entry},`).join('\n')}${this.text.slice(at)}`;
  }

  /** Adds rows at the end of the markdown table that ends before `marker`. */
  appendRows(marker, rows) {
    const at = this.text.indexOf(marker);
    const end = at < 0 ? -1 : this.text.lastIndexOf('|', at) + 1;
    if (end <= 0)
      fail(`${this.file}: cannot find the table before "${marker}" to add ${rows.length} rows to; add them by hand`);
    this.text = `${this.text.slice(0, end)}\n${rows.join('\n')}${this.text.slice(end)}`;
  }

  addImport(statement) {
    const imports = [...this.text.matchAll(/^import [\s\S]*?from '[^']+';$/gm)];
    const last = imports.at(-1);
    if (!last) fail(`${this.file}: has no import statements to add "${statement}" after`);
    const end = last.index + last[0].length;
    this.text = `${this.text.slice(0, end)}\n${statement}${this.text.slice(end)}`;
  }
}

async function registries(names, timestamp) {
  const { plural, singular } = names;
  const permissions = [`'${plural.kebab}:read'`, `'${plural.kebab}:write'`];
  const migration = `${plural.pascal}${timestamp}`;
  const open = async (file) => new Registry(file, await readFile(join(ROOT, file), 'utf8'));
  const edits = [];

  const permission = await open('src/common/auth/permission.ts');
  permission.append('export const PERMISSIONS = [', permissions);
  // What each lets a client do, as the consent page and the API docs say it.
  permission.append('export const PERMISSION_WORDS: Readonly<Record<Permission, string>> = {', [
    `${permissions[0]}: 'Read your ${plural.words}'`,
    `${permissions[1]}: 'Create, change and delete your ${plural.words}'`,
  ]);
  edits.push(permission);

  const roles = await open('src/common/auth/roles.ts');
  roles.append('const USER: readonly Permission[] = [', permissions);
  edits.push(roles);

  const entities = await open('src/db/entities.ts');
  entities.addImport(`import { ${singular.pascal} } from '../modules/${plural.kebab}/${singular.kebab}.entity.js';`);
  entities.append('export const entities = [', [singular.pascal]);
  edits.push(entities);

  const migrations = await open('src/db/migrations/index.ts');
  migrations.addImport(`import { ${migration} } from './${timestamp}-${plural.kebab}.js';`);
  migrations.append('export const migrations = [', [migration]);
  edits.push(migrations);

  const app = await open('src/app.module.ts');
  app.addImport(`import { ${plural.pascal}Module } from './modules/${plural.kebab}/${plural.kebab}.module.js';`);
  app.append('imports: [', [`${plural.pascal}Module`], 'static forRoot');
  edits.push(app);

  const auditActions = await open('src/common/audit/audit-actions.ts');
  auditActions.append(
    'export const AUDIT_ACTIONS = [',
    ['create', 'update', 'delete'].map((verb) => `'${singular.kebab}.${verb}'`),
  );
  edits.push(auditActions);

  // The human-readable rule: granted to user, so to staff too; admin has every permission.
  const contract = await open('docs/contract.md');
  contract.appendRows('<!-- roles-table:end -->', [
    `| ${permissions[0].replaceAll("'", '`')} | ✓ | ✓ | ✓ | read your ${plural.words} |`,
    `| ${permissions[1].replaceAll("'", '`')} | ✓ | ✓ | ✓ | create, change and delete your ${plural.words} |`,
  ]);
  edits.push(contract);
  return edits;
}

/** After the newest migration, so TypeORM runs it last. */
async function nextTimestamp() {
  const files = await readdir(join(ROOT, 'src/db/migrations'));
  const newest = Math.max(0, ...files.map((file) => Number(/^(\d{13})-/.exec(file)?.[1] ?? 0)));
  return String(Math.max(Date.now(), newest + 1));
}

async function main(args) {
  if (args.length !== 1 || args[0].startsWith('-')) fail('usage: npm run new:module -- <plural-name>, e.g. notes');
  const names = validName(args[0]);
  await assertUnused(names);
  const timestamp = await nextTimestamp();
  const files = await render(names, timestamp);
  assertNoClashes(files, args[0]);
  for (const { path } of files) if (existsSync(join(ROOT, path))) fail(`${path} already exists`);
  const edits = await registries(names, timestamp);

  const outputs = await formatted([...files, ...edits.map((edit) => ({ path: edit.file, text: edit.text }))]);
  for (const { path, text } of outputs) {
    await mkdir(dirname(join(ROOT, path)), { recursive: true });
    await writeFile(join(ROOT, path), text);
  }
  report(names, files, edits);
}

/** Every output as prettier lays it out; one that does not parse stops the run before anything is written. */
async function formatted(outputs) {
  const prettier = await import('prettier');
  return Promise.all(
    outputs.map(async ({ path, text }) => {
      const filepath = join(ROOT, path);
      const options = await prettier.resolveConfig(filepath);
      try {
        return { path, text: await prettier.format(text, { ...options, filepath }) };
      } catch (error) {
        return fail(`${path}: the edit does not parse (${error.message.split('\n')[0]}); nothing was written`);
      }
    }),
  );
}

function report({ plural }, files, edits) {
  const lines = [
    `Created ${files.length} files for /api/v1/${plural.kebab}:`,
    ...files.map(({ path }) => `  ${path}`),
    `Registered ${plural.kebab}:read and ${plural.kebab}:write (role user, so staff too; admin has all), the entity, the migration and the module in:`,
    ...edits.map(({ file }) => `  ${file}`),
    '',
    'Next:',
    '  npm run typecheck',
    `  npm test -- test/e2e/${plural.kebab}.e2e-spec.ts`,
    '  npm test -- test/e2e/route-policy.e2e-spec.ts -u',
    '    then review test/e2e/__snapshots__/route-policy.txt: the new routes are a permission change.',
    `  Say what ${plural.kebab}:read and ${plural.kebab}:write allow in your words, in the role table of docs/contract.md.`,
    '  npm test -- test/docs/module-map.spec.ts',
    "    then paste the map it prints into docs/architecture.md: the new module's arrows.",
    '  Make the fields yours: entity, migration, DTOs and tests. See docs/adding-a-module.md.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main(process.argv.slice(2)).catch((error) => {
  if (!(error instanceof GeneratorError)) throw error;
  process.stderr.write(`new:module: ${error.message}\n`);
  process.exitCode = 1;
});
