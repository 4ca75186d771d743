import { passwordProof } from '../../src/common/auth/sign-in-proof.js';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePrincipal } from '../../src/common/auth/principal.js';
import { ApiKeysService } from '../../src/modules/api-keys/api-keys.service.js';
import { CreateApiKeyDto } from '../../src/modules/api-keys/dto/api-key.dto.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { AccessTokensService } from '../../src/modules/auth/jwt/access-tokens.service.js';
import { NO_ORIGIN } from '../../src/modules/auth/credentials/credential-origin.js';
import { RevocationService } from '../../src/modules/auth/revocation/revocation.service.js';
import { SessionsService } from '../../src/modules/auth/sessions/sessions.service.js';
import { PersonalTokensService } from '../../src/modules/auth/tokens/personal-tokens.service.js';
import { UsersService } from '../../src/modules/users/users.service.js';
import { signedIn, signedInAdmin } from '../factories/auth.js';
import { cookieHeader, sessionCookies } from '../factories/session.js';
import { newRegistration } from '../factories/users.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { LEAKS_INTERNALS } from './problem-details.js';

/*
 * Walks every route of the OpenAPI document with generated requests, well-formed and not,
 * as anonymous callers and as signed-in users and admins (JWT, personal token, API key,
 * cookie session), and holds each answer to the contract of API.md's "Everywhere": never a
 * 5xx for what a client sent, an answer in time, every 4xx a problem+json, nothing internal
 * in any body; and nothing logged as an error meanwhile, on the request path or off it.
 *
 * A request is well-formed but in a few chosen places (its `faults`), so that most reach
 * the code behind validation. Ids and credentials are symbols (`Ref(userId)`), resolved
 * when sent against what the run has created so far, which keeps counterexamples readable.
 *
 * FUZZ_RUNS requests (default 10,000 under CI, else 1,000); FUZZ_SEED (and FUZZ_PATH, as
 * fast-check prints them on failure) replay a run; FUZZ_CONCURRENCY=8 sends batches of
 * requests at once, which also finds races (whose failures then replay less reliably).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? (process.env.CI ? 10_000 : 1_000));
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const PATH = process.env.FUZZ_PATH || undefined;
/** Requests in flight at once; each fast-check run is one batch of this many. */
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 1);
const REQUEST_TIMEOUT_MS = 5_000;
// Long values stay a few kB in the URL and headers: past Node's 16 kB for the request head,
// Node itself answers 431 with no body, before the app sees anything.

/** Beyond expectProblem's patterns: what database and runtime errors look like when they escape. */
const LEAKS = new RegExp(
  [
    LEAKS_INTERNALS.source,
    /\bat (?:async )?\S+:\d+:\d+|file:\/\/|\/work\/|\.[cm]?[jt]s:\d+/.source,
    /UPDATE "?\w+"? SET|DELETE FROM|TypeORMError|EntityNotFound|duplicate key value|violates [\w -]+ constraint/.source,
    /invalid input syntax|syntax error at or near|out of range for type|invalid byte sequence|RangeError|TypeError/
      .source,
  ].join('|'),
  'g',
);

// ---------------------------------------------------------------------------------------
// Values known only when a request is sent (ids, credentials) or too long to print.

type RefName =
  | 'userId'
  | 'adminId'
  | 'resourcePrivate'
  | 'resourcePublic'
  | 'apiKeyId'
  | 'tokenId'
  | 'recent'
  | 'cursor'
  | 'userJwt'
  | 'adminJwt'
  | 'userToken'
  | 'userApiKey'
  | 'adminSid'
  | 'adminCsrf'
  | 'refreshToken'
  | 'userEmail'
  | 'userPassword'
  | 'adminEmail';

type Twist = 'none' | 'flip' | 'truncate' | 'upper' | 'junk' | 'twice' | 'padded';

abstract class Sym {
  abstract resolve(world: World): string;
  abstract [fc.toStringMethod](): string;
}

/** Something the world holds: an id, a credential, a cursor; optionally bent out of shape. */
class Ref extends Sym {
  constructor(
    readonly name: RefName,
    readonly twist: Twist = 'none',
    readonly index = 0,
  ) {
    super();
  }
  resolve(world: World): string {
    return twisted(world.ref(this.name, this.index), this.twist);
  }
  [fc.toStringMethod](): string {
    return `Ref(${this.name}${this.index ? `#${this.index}` : ''}${this.twist === 'none' ? '' : `, ${this.twist}`})`;
  }
}

class Repeat extends Sym {
  constructor(
    readonly unit: string,
    readonly times: number,
  ) {
    super();
  }
  resolve(): string {
    return this.unit.repeat(this.times);
  }
  [fc.toStringMethod](): string {
    return `${JSON.stringify(this.unit)}.repeat(${this.times})`;
  }
}

class Cat extends Sym {
  constructor(readonly parts: Text[]) {
    super();
  }
  resolve(world: World): string {
    return this.parts.map((part) => text(part, world)).join('');
  }
  [fc.toStringMethod](): string {
    return this.parts.map((part) => fc.stringify(part)).join(' + ');
  }
}

/** A path segment or query component sent exactly as written, e.g. a malformed `%E0%A4%A`. */
class Raw extends Sym {
  constructor(readonly encoded: string) {
    super();
  }
  resolve(): string {
    return this.encoded;
  }
  [fc.toStringMethod](): string {
    return `Raw(${JSON.stringify(this.encoded)})`;
  }
}

type Text = string | Sym;

function text(value: Text, world: World): string {
  return typeof value === 'string' ? value : value.resolve(world);
}

function twisted(value: string, twist: Twist): string {
  switch (twist) {
    case 'none':
      return value;
    case 'flip':
      return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    case 'truncate':
      return value.slice(0, Math.floor(value.length / 2));
    case 'upper':
      return value.toUpperCase();
    case 'junk':
      return `${value}.x`;
    case 'twice':
      return `${value} ${value}`;
    case 'padded':
      return `  ${value}\t`;
  }
}

/** Replaces every Sym in a JSON value by its text. */
function materialize(value: unknown, world: World): unknown {
  if (value instanceof Sym) return value.resolve(world);
  if (Array.isArray(value)) return value.map((item) => materialize(item, world));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, materialize(item, world)]));
  }
  return value;
}

/** Percent-encodes the UTF-8 of a component (lone surrogates become U+FFFD, as a client would send them). */
function encodeComponent(value: Text, world: World): string {
  if (value instanceof Raw) return value.encoded;
  return [...Buffer.from(text(value, world), 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

/** What Node's HTTP client lets through in a header: the UTF-8 bytes read as Latin-1, no controls. */
function headerSafe(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

// ---------------------------------------------------------------------------------------
// The routes, as the app under test documents them.

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  $ref?: string;
}

interface Route {
  key: string;
  method: string;
  template: string;
  pathParams: string[];
  query: Record<string, Schema>;
  body: Schema | undefined;
}

interface OpenApiParameter {
  in: string;
  name: string;
  schema?: Schema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema> };
}

function routesOf(document: OpenApiDocument): Route[] {
  const deref = (schema: Schema): Schema => {
    const resolved = schema.$ref ? document.components.schemas[schema.$ref.split('/').pop() as string] : schema;
    if (!resolved) throw new Error(`unresolved ${schema.$ref}`);
    return {
      ...resolved,
      ...(resolved.items ? { items: deref(resolved.items) } : {}),
      ...(resolved.properties
        ? { properties: Object.fromEntries(Object.entries(resolved.properties).map(([k, s]) => [k, deref(s)])) }
        : {}),
    };
  };
  return Object.entries(document.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const parameters = operation.parameters ?? [];
      const json = operation.requestBody?.content['application/json'];
      return {
        key: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}])),
        body: json ? deref(json.schema) : undefined,
      };
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Generated requests.

type PrincipalName = 'anonymous' | 'user' | 'admin' | 'userToken' | 'userApiKey' | 'adminSession';

type Body =
  { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; text: Text } | { kind: 'bytes'; hex: string };

interface FuzzCase {
  route: string;
  /** Where this request was made wrong on purpose. */
  faults: Fault[];
  method: string;
  principal: PrincipalName;
  params: Record<string, Text>;
  pathTweak: string;
  query: [Text, Text][];
  body: Body;
  /** undefined: application/json when there is a body; null: no Content-Type at all. */
  contentType: string | null | undefined;
  headers: [string, Text][];
}

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '\u202eevil\u202c',
  'שלום עולם',
  'مرحبا',
  '\u200f\u200e\u2066',
  '🔥',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈',
  '\ufeff',
  '\uffff',
  '\u0085\u2028\u2029',
  'é',
  'e\u0301',
  'Ω≈ç√',
  '\r\n',
  '\t',
  '\\',
  '"',
  "'",
  '%',
  '_',
  '%00',
  '../',
  '..\\..\\windows',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  "'; DROP TABLE users; --",
  '1 UNION SELECT password_hash FROM users',
  '{{7*7}}',
  '${jndi:ldap://x}',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  'true',
  '[]',
  '{}',
];

const surrogateHalf = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const control = fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code));
const oddChar = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: surrogateHalf, weight: 1 },
  { arbitrary: control, weight: 1 },
  { arbitrary: fc.constantFrom('\u202e', '\u200f', '\u0000', '\ufeff', '🔥', '%', '/', '\\'), weight: 1 },
);
const oddString = fc.oneof(
  { arbitrary: fc.constantFrom(...ODD_STRINGS), weight: 3 },
  { arbitrary: fc.string({ unit: oddChar, maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
);

/** Strings long enough to hit length limits and, up to ~150 kB of JSON, the body limit. */
const hugeString = fc
  .tuple(
    fc.constantFrom('x', 'é', '🔥', '\u0000', '\ud800', ' ', 'ab'),
    fc.constantFrom(101, 201, 257, 1_001, 10_001, 50_000, 99_000, 101_000, 150_000),
  )
  .map(([unit, bytes]) => new Repeat(unit, Math.max(1, Math.ceil(bytes / (JSON.stringify(unit).length - 2)))));

const uuid4 = fc.uuid({ version: 4 });
const badId = fc.oneof(
  fc.constantFrom('1', '0', '-1', 'abc', 'null', 'me', 'self', '00000000-0000-0000-0000-000000000000'),
  fc.constantFrom('ffffffff-ffff-ffff-ffff-ffffffffffff', '123e4567-e89b-12d3-a456-426614174000'),
  fc.uuid({ version: 1 }),
  uuid4.map((id) => id.toUpperCase()),
  uuid4.map((id) => `{${id}}`),
  uuid4.map((id) => id.replace(/-/g, '')),
  uuid4.map((id) => `${id}x`),
  fc.constantFrom(
    new Raw('..'),
    new Raw('..%2F..%2Fadmin'),
    new Raw('%2e%2e%2f'),
    new Raw('%00'),
    new Raw('%ZZ'),
    new Raw('%E0%A4%A'),
    new Raw('%ED%A0%80'),
    new Raw('%C0%AF'),
    new Raw('%FF%FE'),
    new Raw('%'),
    new Raw('a%2Fb'),
    new Raw('%20'),
  ),
  oddString,
  fc.constantFrom(new Repeat('a', 1_000), new Repeat('9', 2_500)),
);

const ID_REFS: Record<string, RefName[]> = {
  users: ['userId', 'adminId'],
  resources: ['resourcePrivate', 'resourcePublic', 'recent'],
  'api-keys': ['apiKeyId', 'recent'],
  tokens: ['tokenId', 'recent'],
  'oauth-clients': ['recent'],
};

/** An id of the route's kind that exists (or did), or a well-formed one of nothing. */
function idArb(route: Route): fc.Arbitrary<Text> {
  const area = route.template.includes('/tokens/') ? 'tokens' : (route.template.split('/')[3] ?? '');
  const preferred = ID_REFS[area] ?? [];
  const anyRef = fc.constantFrom<RefName>(
    'userId',
    'adminId',
    'resourcePrivate',
    'resourcePublic',
    'apiKeyId',
    'tokenId',
  );
  return fc.oneof(
    ...(preferred.length > 0
      ? [
          {
            arbitrary: fc.tuple(fc.constantFrom(...preferred), fc.nat(31)).map(([name, i]) => new Ref(name, 'none', i)),
            weight: 6,
          },
        ]
      : []),
    { arbitrary: anyRef.map((name) => new Ref(name)), weight: 1 },
    { arbitrary: uuid4, weight: 1 },
  );
}

function cursorOf(parts: unknown): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/** Dates JavaScript parses, at the edges of what it and Postgres can hold. */
const EDGE_DATES = [
  '-271821-04-20T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
  '-004713-11-24T00:00:00.000Z',
  '-000001-01-01T00:00:00.000Z',
  '0000-01-01T00:00:00.000Z',
  '0001-01-01',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
];
const EXTREME_DATES = [
  ...EDGE_DATES,
  '2024-02-30T00:00:00Z',
  '2024-01-01T25:61:00Z',
  '2024-01-01T00:00:00+25:00',
  'now',
  'yesterday',
  '1',
  '-1',
  '8.64e15',
  '',
];

const normalDate = fc
  .date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());
const dateString = fc.oneof(normalDate, fc.constantFrom(...EXTREME_DATES));
/** A well-formed date-time, now and then at an edge. */
const validDate = fc.oneof(
  { arbitrary: normalDate, weight: 3 },
  { arbitrary: fc.constantFrom(...EDGE_DATES), weight: 1 },
);

const garbageCursor = fc.oneof(
  fc.base64String({ maxLength: 60 }),
  fc.string({ maxLength: 30 }),
  fc
    .tuple(
      fc.oneof(dateString, fc.integer(), fc.constant(null)),
      fc.oneof(
        uuid4,
        badId.filter((id) => typeof id === 'string'),
      ),
    )
    .map(([at, id]) => cursorOf([at, id])),
  fc.jsonValue({ maxDepth: 2 }).map(cursorOf),
  fc.constantFrom(new Repeat('A', 300), new Ref('cursor', 'flip'), new Ref('cursor', 'truncate'), '!!!', '%00'),
);

function validQueryValue(name: string, schema: Schema): fc.Arbitrary<Text> {
  if (name === 'limit') return fc.integer({ min: 1, max: 100 }).map(String);
  if (name === 'cursor') {
    // The last nextCursor seen, or one in the shape this API issues, for a date at an edge.
    return fc.oneof(
      { arbitrary: fc.constant(new Ref('cursor')), weight: 3 },
      { arbitrary: fc.tuple(validDate, uuid4).map(cursorOf), weight: 1 },
    );
  }
  if (schema.enum) return fc.constantFrom(...schema.enum.map(String));
  if (schema.format === 'uuid') return fc.oneof(fc.constantFrom(new Ref('userId'), new Ref('adminId')), uuid4);
  if (schema.format === 'date-time') return validDate;
  if (name === 'action') return fc.constantFrom('auth.login', 'resource.create', 'user.update', 'api-key.create');
  return fc.string({ minLength: 1, maxLength: 12 });
}

const badQueryValue = fc.oneof(
  fc.constantFrom('-1', '0', '101', '1.5', 'abc', '', '1e2', ' 1', '0x10', 'Infinity', 'NaN', '99999999999999999999'),
  oddString,
  garbageCursor,
  dateString,
  badId,
  fc.constantFrom(new Repeat('q', 1_500), new Raw('%'), new Raw('%ZZ'), new Raw('%00'), new Raw('%ED%A0%80')),
);

function queryArb(route: Route): { valid: fc.Arbitrary<[Text, Text][]>; bad: fc.Arbitrary<[Text, Text][]> } {
  const names = Object.keys(route.query);
  const valid = names.map((name) =>
    fc.option(fc.tuple(fc.constant(name), validQueryValue(name, route.query[name] as Schema)), { nil: undefined }),
  );
  const validPairs = fc.tuple(...valid).map((pairs) => pairs.filter((p): p is [string, Text] => p !== undefined));
  const badPair = fc.oneof(
    ...(names.length > 0 ? [fc.tuple(fc.constantFrom(...names), badQueryValue)] : []),
    fc.tuple(
      fc.constantFrom('limit', 'cursor', 'offset', 'page', 'sort', 'include', '__proto__', 'limit[]', 'q[a]'),
      badQueryValue,
    ),
    fc.tuple(oddString, oddString),
    fc.tuple(fc.constantFrom(new Raw('%ZZ'), new Raw(''), new Raw('&&'), new Raw('a=b=c')), fc.constant('1')),
  );
  return {
    valid: validPairs,
    bad: fc.tuple(validPairs, fc.array(badPair, { minLength: 1, maxLength: 3 })).map(([a, b]) => [...a, ...b]),
  };
}

/** A JSON value of any type but the one a schema asks for, or the right type with odd content. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: oddString, weight: 3 },
  { arbitrary: hugeString, weight: 2 },
  {
    arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1e308, 2 ** 53 + 1, -8.64e15, 8.64e15)),
    weight: 2,
  },
  { arbitrary: fc.constantFrom(true, false, null, {}, [], [null], [[]], { '': '' }), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  {
    arbitrary: fc.integer({ min: 20, max: 60 }).map((depth) => {
      let value: unknown = 'deep';
      for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
      return value;
    }),
    weight: 1,
  },
);

const strongPassword = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 8, maxLength: 8 })
  .map((hex) => `Tidal-Orbit-${hex}-Quartz!`);

function validValue(name: string, schema: Schema): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'boolean':
      return fc.boolean();
    case 'number':
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
    case 'array':
      return fc.uniqueArray(validValue(name, schema.items ?? {}), { maxLength: 4, selector: (v) => JSON.stringify(v) });
    case 'object':
      return validObject(schema);
  }
  if (schema.format === 'email') {
    return fc.oneof(
      { arbitrary: fc.constant(new Ref('userEmail')), weight: 3 },
      { arbitrary: fc.constantFrom(new Ref('adminEmail'), new Ref('userEmail', 'upper')), weight: 1 },
      { arbitrary: fc.emailAddress(), weight: 1 },
      { arbitrary: uuid4.map((id) => `fuzz-${id.slice(0, 8)}@example.test`), weight: 2 },
    );
  }
  if (schema.format === 'password' || /password/i.test(name)) {
    return fc.oneof(
      { arbitrary: fc.constant(new Ref('userPassword')), weight: 3 },
      { arbitrary: strongPassword, weight: 2 },
      { arbitrary: fc.string({ minLength: 1, maxLength: 30 }), weight: 1 },
    );
  }
  if (schema.format === 'date-time') {
    return validDate;
  }
  if (/ur[il]s?$/i.test(name)) {
    return fc.oneof(
      { arbitrary: fc.webUrl({ validSchemes: ['https', 'http'] }), weight: 3 },
      {
        arbitrary: fc.constantFrom(
          'javascript:alert(1)',
          'http://localhost:1/cb',
          'https://a.test/cb#x',
          'urn:x',
          '/cb',
        ),
        weight: 1,
      },
    );
  }
  if (name === 'refresh_token') return fc.oneof(fc.constant(new Ref('refreshToken')), fc.string({ maxLength: 40 }));
  if (name === 'token') return fc.constantFrom(new Ref('userJwt'), new Ref('adminJwt'), new Ref('userJwt', 'flip'));
  const min = schema.minLength ?? 0;
  return fc.string({ unit: 'grapheme', minLength: Math.max(1, min), maxLength: Math.min(schema.maxLength ?? 40, 40) });
}

function validObject(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const arbitraries = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, validValue(k, s)]));
  return fc.record(arbitraries, { requiredKeys: schema.required ?? [] }) as fc.Arbitrary<Record<string, unknown>>;
}

const EXTRA_KEYS = ['id', 'ownerId', 'roles', 'isAdmin', 'passwordHash', 'version', 'createdAt', 'userId', 'scope'];

/** One change that makes a valid body invalid: a field missing, an extra one, a wrong value. */
function mutatedObject(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(schema.properties ?? {});
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), key: keys.length ? fc.constantFrom(...keys) : fc.constant('x') }),
    fc.record({
      kind: fc.constant('extra' as const),
      key: fc.oneof(fc.constantFrom(...EXTRA_KEYS), oddString),
      value: wrongValue,
    }),
    fc.record({
      kind: fc.constant('wrong' as const),
      key: keys.length ? fc.constantFrom(...keys) : fc.constant('x'),
      value: wrongValue,
    }),
  );
  return fc
    .tuple(validObject(schema), fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([object, mutations]) => {
      const result: Record<string, unknown> = { ...object };
      for (const m of mutations) {
        if (m.kind === 'drop') delete result[m.key];
        else
          Object.defineProperty(result, m.key, {
            value: m.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      return result;
    });
}

const RAW_BODIES = [
  '',
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '[1,2',
  'null',
  'true',
  '0',
  '"text"',
  '[]',
  '{}{}',
  '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  '{"name":"a","name":"b","visibility":"public"}',
  '\ufeff{}',
  '{"a":1e999999}',
  '{"a":-0}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  'NaN',
  '<xml/>',
  'a=1&b=2',
];

const deepText = fc
  .tuple(fc.constantFrom('{"a":', '['), fc.constantFrom(33, 100, 1_000, 10_000, 49_000))
  .map(([open, depth]) => new Cat([new Repeat(open, depth), '1', new Repeat(open === '[' ? ']' : '}', depth)]));

const garbageBody: fc.Arbitrary<Body> = fc.oneof(
  fc.constantFrom(...RAW_BODIES).map((t): Body => ({ kind: 'text', text: t })),
  deepText.map((t): Body => ({ kind: 'text', text: t })),
  fc.jsonValue({ maxDepth: 4 }).map((value): Body => ({ kind: 'json', value })),
  wrongValue.map((value): Body => ({ kind: 'json', value })),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((bytes): Body => ({ kind: 'bytes', hex: Buffer.from(bytes).toString('hex') })),
  fc
    .constantFrom('7b2261223a22ff227d', 'fffe7b007d00', 'efbbbf7b7d', '7b22c0af223a317d')
    .map((hex): Body => ({ kind: 'bytes', hex })),
);

function bodyArb(route: Route): { valid: fc.Arbitrary<Body>; bad: fc.Arbitrary<Body> } {
  if (!route.body) return { valid: fc.constant({ kind: 'none' }), bad: garbageBody };
  const schema = route.body;
  return {
    valid: validObject(schema).map((value): Body => ({ kind: 'json', value })),
    bad: fc.oneof(
      { arbitrary: mutatedObject(schema).map((value): Body => ({ kind: 'json', value })), weight: 4 },
      { arbitrary: garbageBody, weight: 2 },
      { arbitrary: fc.constant<Body>({ kind: 'none' }), weight: 1 },
    ),
  };
}

const validContentType = fc.constantFrom(undefined, 'application/json; charset=utf-8');
const badContentType = fc.constantFrom(
  null,
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=utf-16',
  'application/json; charset=utf-7',
  'application/json; charset="utf-8"',
  'application/json;;;',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/problem+json',
  'text/json',
  'text/plain',
  'text/html; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  'application/',
  '*/*',
  '',
  'garbage',
  ';',
  'application/json\u00ff',
);

const jwtSegment = fc
  .oneof(
    fc.constantFrom(
      { alg: 'none', typ: 'JWT' },
      { alg: 'HS256', typ: 'at+jwt' },
      { alg: 'EdDSA', kid: '../../../../etc/passwd' },
      { alg: 'ES256', jku: 'http://127.0.0.1:1/jwks' },
      { alg: 'RS256', x5u: 'file:///etc/passwd' },
      { alg: 'EdDSA', typ: 'at+jwt', kid: "' OR 1=1 --" },
      { sub: '00000000-0000-0000-0000-000000000000', roles: ['admin'], exp: 9_999_999_999 },
      { sub: 'admin', scope: 'users:manage', iat: -1, exp: 1e308 },
      { crit: ['exp'], b64: false },
    ),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map((json) => Buffer.from(JSON.stringify(json) ?? 'null').toString('base64url'));

const jwtLike = fc
  .tuple(
    jwtSegment,
    jwtSegment,
    fc.oneof(
      fc.constant(''),
      fc.base64String({ maxLength: 86 }).map((s) => s.replace(/[+/=]/g, '')),
    ),
  )
  .map(([h, p, s]) => `${h}.${p}.${s}`);

const garbageToken = fc.oneof(
  jwtLike,
  oddString,
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.constantFrom(
    'a.b.c',
    '..',
    '.',
    'abc.',
    '.def',
    'a.b',
    'x'.repeat(300) + '.' + 'y'.repeat(40),
    new Repeat('A', 2_000),
  ),
  fc
    .constantFrom<RefName>('userJwt', 'adminJwt', 'userToken', 'userApiKey', 'refreshToken', 'adminSid')
    .chain((name) =>
      fc
        .constantFrom<Twist>('flip', 'truncate', 'upper', 'junk', 'twice', 'padded', 'none')
        .map((twist) => new Ref(name, twist)),
    ),
);

const authorizationValue = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        'Bearer ',
        'bearer ',
        'BEARER  ',
        'Token ',
        'token ',
        'Api-Key ',
        'api-key ',
        'Basic ',
        'Digest ',
        'JWT ',
        'Bearer\t',
        '',
      ),
      garbageToken,
    )
    .map(([scheme, token]) => new Cat([scheme, token])),
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'Token',
    'Basic dXNlcjpwYXNz',
    'Negotiate',
    ',',
    'Bearer a, Bearer b',
    'Bearer a b c',
  ),
);

const cookieValue = fc.oneof(
  fc.constantFrom(
    'sid=',
    'sid',
    '=;;;',
    'sid=%ZZ',
    'sid=a; sid=b',
    'sid=j:{"a":1}',
    'sid=j:[1,2]',
    'sid=s:abc.def',
    'csrf=garbage',
    'sid="quoted"',
    '; ; ;',
    'a=b',
    'sid=\u00ff\u00fe',
  ),
  garbageToken.map((token) => new Cat(['sid=', token])),
  fc.constantFrom(
    new Cat(['sid=', new Ref('adminSid'), '; sid=', new Ref('adminSid', 'flip')]),
    new Cat(['sid=', new Repeat('s', 2_000)]),
  ),
);

const headerTweak: fc.Arbitrary<[string, Text]> = fc.oneof(
  { arbitrary: fc.tuple(fc.constant('Authorization'), authorizationValue), weight: 4 },
  { arbitrary: fc.tuple(fc.constant('X-API-Key'), garbageToken), weight: 2 },
  {
    arbitrary: fc.tuple(
      fc.constantFrom('Authorization', 'X-API-Key'),
      fc.constantFrom(
        new Cat(['Bearer ', new Ref('userJwt')]),
        new Cat(['Bearer ', new Ref('adminJwt')]),
        new Cat(['Token ', new Ref('userToken')]),
        new Cat(['Api-Key ', new Ref('userApiKey')]),
        new Ref('userApiKey'),
      ),
    ),
    weight: 2,
  },
  { arbitrary: fc.tuple(fc.constant('Cookie'), cookieValue), weight: 2 },
  {
    arbitrary: fc.tuple(fc.constant('X-CSRF-Token'), fc.oneof(garbageToken, fc.constant(new Ref('adminCsrf', 'flip')))),
    weight: 1,
  },
  {
    arbitrary: fc.tuple(
      fc.constant('If-Match'),
      fc.oneof(
        fc.constantFrom('*', '"1"', 'W/"1"', '"0"', '"-1"', '"abc"', '"999999999999"', '1', '""', '"1", "2"', ' * '),
        oddString,
      ),
    ),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(
      fc.constantFrom(
        'X-Request-Id',
        'Accept',
        'Accept-Language',
        'User-Agent',
        'X-Forwarded-For',
        'Origin',
        'Referer',
        'Range',
        'If-None-Match',
      ),
      fc.oneof(
        oddString,
        fc.constantFrom('text/html', 'application/xml', '*/*', '1.2.3.4, ::1', 'bytes=0-0', new Repeat('h', 2_000)),
      ),
    ),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(
      fc.constant('Content-Encoding'),
      fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x'),
    ),
    weight: 1,
  },
);

const PRINCIPALS = fc.oneof(
  { arbitrary: fc.constant<PrincipalName>('anonymous'), weight: 5 },
  { arbitrary: fc.constant<PrincipalName>('user'), weight: 5 },
  { arbitrary: fc.constant<PrincipalName>('admin'), weight: 5 },
  { arbitrary: fc.constantFrom<PrincipalName>('userToken', 'userApiKey', 'adminSession'), weight: 3 },
);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** Where a request may go wrong; listed twice: more likely to be picked. */
const FAULTS = ['params', 'params', 'query', 'body', 'body', 'contentType', 'headers', 'headers', 'method', 'path'];
type Fault = 'params' | 'query' | 'body' | 'contentType' | 'headers' | 'method' | 'path';

/**
 * A request to one route, well-formed but in a few chosen places (none, often): a request
 * wrong everywhere at once stops at the first check and reaches nothing behind it.
 */
function caseArb(route: Route): fc.Arbitrary<FuzzCase> {
  const query = queryArb(route);
  const body = bodyArb(route);
  const faults = fc.oneof(
    { arbitrary: fc.constant([]), weight: 3 },
    { arbitrary: fc.subarray(FAULTS, { minLength: 1, maxLength: 1 }), weight: 4 },
    { arbitrary: fc.subarray(FAULTS, { minLength: 2, maxLength: 3 }), weight: 3 },
  ) as fc.Arbitrary<Fault[]>;
  const either = <T>(bad: boolean, ok: fc.Arbitrary<T>, ko: fc.Arbitrary<T>) => (bad ? ko : ok);
  return faults.chain((f) =>
    fc.record({
      route: fc.constant(route.key),
      faults: fc.constant([...new Set(f)]),
      principal: PRINCIPALS,
      method: either(
        f.includes('method'),
        fc.constant(route.method),
        fc.constantFrom(...METHODS.filter((m) => m !== route.method)),
      ),
      params: fc.record(
        Object.fromEntries(route.pathParams.map((name) => [name, either(f.includes('params'), idArb(route), badId)])),
      ) as fc.Arbitrary<Record<string, Text>>,
      pathTweak: either(
        f.includes('path'),
        fc.constant(''),
        fc.constantFrom('/', '//', '/..', '/.', '%2F', ';x=1', '.json', '/%00', '?', '#frag'),
      ),
      query: either(f.includes('query'), query.valid, query.bad),
      body: either(f.includes('body'), body.valid, body.bad),
      contentType: either<string | null | undefined>(f.includes('contentType'), validContentType, badContentType),
      headers: either(
        f.includes('headers'),
        fc.constant<[string, Text][]>([]),
        fc.array(headerTweak, { minLength: 1, maxLength: 3 }),
      ),
    }),
  );
}

// ---------------------------------------------------------------------------------------
// The world the requests act on: accounts, their credentials, what they created.

interface Account {
  id: string;
  email: string;
  password: string;
  admin: boolean;
}

class World {
  readonly credentials = new Map<PrincipalName, Record<string, string>>();
  readonly suspect = new Set<PrincipalName>();
  private readonly checking = new Map<PrincipalName, Promise<void>>();
  readonly recent: string[] = [];
  readonly fixtures: Partial<Record<RefName, string>> = {};
  cursor = cursorOf(['2020-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']);
  refreshToken = '';
  user!: Account;
  admin!: Account;

  constructor(readonly t: TestApp) {}

  ref(name: RefName, index: number): string {
    const credential = (principal: PrincipalName, header: string) =>
      (this.credentials.get(principal)?.[header] ?? '').replace(/^\S+ /, '');
    switch (name) {
      case 'userId':
        return this.user.id;
      case 'adminId':
        return this.admin.id;
      case 'recent':
        return this.recent.length ? (this.recent[index % this.recent.length] as string) : randomUUID();
      case 'cursor':
        return this.cursor;
      case 'userJwt':
        return credential('user', 'Authorization');
      case 'adminJwt':
        return credential('admin', 'Authorization');
      case 'userToken':
        return credential('userToken', 'Authorization');
      case 'userApiKey':
        return credential('userApiKey', 'X-API-Key');
      case 'adminSid':
        return /sid=([^;]*)/.exec(credential('adminSession', 'Cookie'))?.[1] ?? '';
      case 'adminCsrf':
        return credential('adminSession', 'X-CSRF-Token');
      case 'refreshToken':
        return this.refreshToken;
      case 'userEmail':
        return this.user.email;
      case 'userPassword':
        return this.user.password;
      case 'adminEmail':
        return this.admin.email;
      default:
        return this.fixtures[name] ?? randomUUID();
    }
  }

  /** The headers that make a request this principal's, rebuilt if the fuzzing killed them. */
  async headersOf(principal: PrincipalName): Promise<Record<string, string>> {
    if (principal === 'anonymous') return {};
    let check = this.checking.get(principal);
    if (!check && (this.suspect.delete(principal) || !this.credentials.has(principal))) {
      // One check at a time per principal, however many requests of the batch wait for it.
      check = this.revalidate(principal).finally(() => this.checking.delete(principal));
      this.checking.set(principal, check);
    }
    await check;
    return this.credentials.get(principal) as Record<string, string>;
  }

  /** Checks the principal's credential, rebuilding it until it works (other requests of a batch may kill it again). */
  private async revalidate(principal: PrincipalName): Promise<void> {
    let failure: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = this.credentials.get(principal);
      if (current && (await this.works(principal, current))) return;
      // Another request of the batch may delete the account midway: then try again.
      failure = await this.rebuild(principal).catch((error: unknown) => error);
    }
    throw new Error(`the fuzzing left no working credential for ${principal}`, { cause: failure });
  }

  private async works(principal: PrincipalName, headers: Record<string, string>): Promise<boolean> {
    const res = await this.t.http.get('/api/v1/auth/me').set(headers);
    const admin = principal === 'admin' || principal === 'adminSession';
    return res.status === 200 && (res.body as { roles: string[] }).roles.includes(admin ? 'admin' : 'user');
  }

  /** New credentials straight from the services (the fuzzing may well have locked the sign-in out). */
  private async rebuild(principal: PrincipalName): Promise<void> {
    const admin = principal === 'admin' || principal === 'adminSession';
    const account = await this.liveAccount(admin);
    // Issued as a sign-in would be: in the user's current cut-off generation.
    const generation = await this.t.app
      .get(RevocationService)
      .generationOf(this.t.app.get(DataSource).manager, account.id);
    const jwt = await this.t.app
      .get(AccessTokensService)
      .issue({ id: account.id, roles: [admin ? 'admin' : 'user'] }, generation, passwordProof());
    const owner = makePrincipal({
      userId: account.id,
      roles: [admin ? 'admin' : 'user'],
      scopes: null,
      authMethod: 'jwt',
      credentialId: jwt.jti,
    });
    switch (principal) {
      case 'user':
      case 'admin':
        this.credentials.set(principal, { Authorization: `Bearer ${jwt.token}` });
        return;
      case 'userToken': {
        const created = await this.t.app.get(PersonalTokensService).create(owner, { name: 'fuzz' }, NO_ORIGIN);
        this.fixtures.tokenId = created.id;
        this.credentials.set(principal, { Authorization: `Token ${created.token}` });
        return;
      }
      case 'userApiKey': {
        const body = Object.assign(new CreateApiKeyDto(), {
          name: 'fuzz',
          scopes: ['resources:read', 'resources:write'],
          rateLimitPerMinute: 100_000,
        });
        const created = await this.t.app.get(ApiKeysService).create(owner, body, NO_ORIGIN);
        this.fixtures.apiKeyId = created.id;
        this.credentials.set(principal, { 'X-API-Key': created.key });
        return;
      }
      case 'adminSession': {
        // The CSRF token is bound to the session: the app issues it to a request of that session.
        const signedIn = await this.t.app.get(UsersService).findById(account.id);
        const started =
          signedIn && (await this.t.app.get(SessionsService).start(signedIn, undefined, NO_ORIGIN, passwordProof()));
        if (!started) throw new Error('the fuzzer could not start a session');
        const { sid } = started;
        const res = await this.t.http.get('/api/v1/auth/csrf').set('Cookie', cookieHeader({ sid }));
        const csrf = sessionCookies(res).get('csrf')?.value ?? '';
        this.credentials.set(principal, {
          Cookie: cookieHeader({ sid, csrf }),
          'X-CSRF-Token': String((res.body as { csrfToken?: unknown }).csrfToken ?? ''),
        });
        return;
      }
    }
  }

  /** The account, or a new one when the fuzzing deleted, deactivated or demoted it. */
  private async liveAccount(admin: boolean): Promise<Account> {
    const account = admin ? this.admin : this.user;
    const user = await this.t.app.get(UsersService).findById(account.id);
    if (user?.isActive && user.roles.includes(admin ? 'admin' : 'user')) return account;
    const registration = newRegistration();
    const users = this.t.app.get(UsersService);
    const created = admin ? await users.createAdmin(registration) : await users.register(registration);
    const fresh = { ...registration, id: created.id, admin };
    if (admin) this.admin = fresh;
    else this.user = fresh;
    for (const name of ['user', 'userToken', 'userApiKey', 'admin', 'adminSession'] as const) this.suspect.add(name);
    return fresh;
  }

  /** Learns from a successful answer: new ids, cursors, tokens; and what might have killed a credential. */
  learn(c: FuzzCase, res: Response, sentBody: unknown): void {
    if (res.status >= 300) {
      if (res.status === 401 && c.principal !== 'anonymous' && c.headers.length === 0) this.suspect.add(c.principal);
      return;
    }
    const body = (res.body ?? {}) as Record<string, unknown>;
    const ids = [
      body.id,
      body.clientId,
      ...(Array.isArray(body.data) ? body.data.slice(0, 3).map((row: { id?: unknown }) => row.id) : []),
    ];
    for (const id of ids) if (typeof id === 'string') this.recent.unshift(id);
    this.recent.length = Math.min(this.recent.length, 32);
    if (typeof body.nextCursor === 'string') this.cursor = body.nextCursor;
    if (typeof body.refresh_token === 'string') this.refreshToken = body.refresh_token;
    const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(c.method);
    if (mutating && /^\/api\/v1\/(users|auth|api-keys)/.test(c.route.split(' ')[1] ?? '')) {
      for (const name of this.credentials.keys()) this.suspect.add(name);
      const newPassword = (sentBody as { newPassword?: unknown } | undefined)?.newPassword;
      if (c.route === 'POST /api/v1/auth/password' && typeof newPassword === 'string') {
        if (c.principal === 'user' || c.principal === 'userToken' || c.principal === 'userApiKey') {
          this.user.password = newPassword;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Sending a case and judging the answer.

interface Sent {
  res: Response;
  url: string;
  /** Everything the client sent, to tell an echo of its own input from a leak. */
  sentText: string;
  sentBody: unknown;
}

function bodyBytes(body: Body, world: World): { bytes: Buffer | undefined; json: unknown } {
  switch (body.kind) {
    case 'none':
      return { bytes: undefined, json: undefined };
    case 'json': {
      const json = materialize(body.value, world);
      return { bytes: Buffer.from(JSON.stringify(json) ?? 'null', 'utf8'), json };
    }
    case 'text':
      return { bytes: Buffer.from(text(body.text, world), 'utf8'), json: undefined };
    case 'bytes':
      return { bytes: Buffer.from(body.hex, 'hex'), json: undefined };
  }
}

async function send(world: World, routes: Map<string, Route>, c: FuzzCase): Promise<Sent> {
  const route = routes.get(c.route) as Route;
  const path =
    route.template.replace(/\{(\w+)\}/g, (_, name: string) => encodeComponent(c.params[name] ?? '', world)) +
    c.pathTweak;
  const query = c.query.map(([k, v]) => `${encodeComponent(k, world)}=${encodeComponent(v, world)}`).join('&');
  const url = query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
  const headers: Record<string, string> = { ...(await world.headersOf(c.principal)) };
  for (const [name, value] of c.headers) headers[name] = headerSafe(text(value, world));
  // A HEAD request has no body: Node's client would write it unframed, a broken HTTP message.
  const { bytes, json } = c.method === 'HEAD' ? { bytes: undefined, json: undefined } : bodyBytes(c.body, world);
  if (bytes && c.contentType !== null) headers['Content-Type'] = headerSafe(c.contentType ?? 'application/json');

  const agent = world.t.http as unknown as Record<string, (url: string) => Test>;
  let req = (agent[c.method.toLowerCase()] as (url: string) => Test)(url).timeout(REQUEST_TIMEOUT_MS);
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
  if (bytes) req = req.serialize((b: unknown) => b as string).send(bytes);
  let res: Response;
  try {
    res = await req;
  } catch (error) {
    const { timeout, code, response } = error as { timeout?: number; code?: string; response?: Response };
    if (response) {
      res = response;
    } else {
      throw new Error(
        `${c.method} ${url.slice(0, 300)}: no answer (${timeout ? `timed out after ${REQUEST_TIMEOUT_MS} ms` : (code ?? String(error))})`,
      );
    }
  }
  const components = [...Object.values(c.params), ...c.query.flat()].map((part) => text(part, world));
  const sentText = [url, ...components, ...Object.values(headers), bytes?.toString('utf8') ?? ''].join('\n');
  return { res, url, sentText, sentBody: json };
}

function judge(c: FuzzCase, { res, url, sentText }: Sent, logs: string[]): void {
  const where = `${c.method} ${url.slice(0, 200)} as ${c.principal} -> ${res.status}`;
  const excerpt = () => `${res.headers['content-type'] ?? 'no content type'}: ${(res.text ?? '').slice(0, 500)}`;
  if (res.status >= 500) {
    // What the app logged of it (the error's name, message and code) says where to look.
    const id = String(res.headers['x-request-id']);
    const logged = logs.filter((line) => line.includes(id) && /"level":[56]0/.test(line)).join('\n');
    throw new Error(`${where}: a server error for a client's request\n${excerpt()}\n${logged}`);
  }
  if (!res.headers['x-request-id']) throw new Error(`${where}: no X-Request-Id\n${excerpt()}`);
  if (res.status >= 400) {
    if (!String(res.headers['content-type']).startsWith('application/problem+json')) {
      throw new Error(`${where}: a 4xx that is not problem+json\n${excerpt()}`);
    }
    if (c.method !== 'HEAD') {
      let problem: Record<string, unknown>;
      try {
        problem = JSON.parse(res.text) as Record<string, unknown>;
      } catch {
        throw new Error(`${where}: a problem+json body that is not JSON\n${excerpt()}`);
      }
      const ok =
        problem.status === res.status &&
        typeof problem.type === 'string' &&
        typeof problem.title === 'string' &&
        typeof problem.instance === 'string' &&
        problem.instance.startsWith('/') &&
        typeof problem.requestId === 'string' &&
        problem.requestId !== '' &&
        problem.requestId === res.headers['x-request-id'];
      if (!ok) throw new Error(`${where}: an incomplete problem\n${excerpt()}`);
    }
  }
  for (const match of (res.text ?? '').matchAll(LEAKS)) {
    // The client's own input coming back (a resource named "SELECT ...") is no leak.
    if (!sentText.includes(match[0]))
      throw new Error(`${where}: the answer shows internals (${match[0]})\n${excerpt()}`);
  }
}

// ---------------------------------------------------------------------------------------

describe('Fuzzing every documented route', () => {
  let t: TestApp;
  let world: World;
  let routes: Route[];

  beforeAll(async () => {
    // Lockout has tests of its own; here it would close every password path after a few guesses.
    t = await startTestApp({ LOCKOUT_MAX_FAILURES: '1000000', LOCKOUT_MAX_FAILURES_PER_ADDRESS: '1000000' });
    // Listening once spares supertest a listen and a close per request, and lets connections be reused.
    await new Promise<void>((resolve) => t.app.getHttpServer().listen(0, '127.0.0.1', resolve));
    const document = await t.http.get('/docs/openapi.json').expect(200);
    routes = routesOf(document.body as OpenApiDocument);
    world = new World(t);
    const user = await signedIn(t.http);
    const admin = await signedInAdmin(t);
    world.user = { ...user.user, admin: false };
    world.admin = { ...admin.user, admin: true };
    world.refreshToken = user.tokens.refresh_token;
    for (const principal of ['user', 'admin', 'userToken', 'userApiKey', 'adminSession'] as const) {
      await world.headersOf(principal);
    }
    const create = async (principal: PrincipalName, visibility: string) => {
      const res = await t.http
        .post('/api/v1/resources')
        .set(await world.headersOf(principal))
        .send({ name: `fuzz ${visibility}`, description: 'seed', visibility });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    world.fixtures.resourcePrivate = await create('user', 'private');
    world.fixtures.resourcePublic = await create('admin', 'public');
  });
  afterAll(() => t?.close());

  it(
    `should answer ${RUNS} generated requests without a 5xx, a hang, a bare 4xx or a leak`,
    { timeout: 120_000 + RUNS * 40 },
    async () => {
      console.info(`fuzz: ${RUNS} requests, ${CONCURRENCY} at a time, seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
      const byKey = new Map(routes.map((route) => [route.key, route]));
      const anyCase = fc.oneof(...routes.map(caseArb));
      const statuses = new Map<string, Map<number, number>>();
      const millis = new Map<string, number>();
      let sent = 0;
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(fc.array(anyCase, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (batch) => {
          const outcomes = await Promise.allSettled(
            batch.map(async (c) => {
              const before = performance.now();
              const result = await send(world, byKey, c);
              sent += 1;
              const counts = statuses.get(c.route) ?? new Map<number, number>();
              counts.set(result.res.status, (counts.get(result.res.status) ?? 0) + 1);
              statuses.set(c.route, counts);
              millis.set(c.route, (millis.get(c.route) ?? 0) + performance.now() - before);
              judge(c, result, t.logs.lines);
              world.learn(c, result.res, result.sentBody);
            }),
          );
          const failed = outcomes.find((outcome) => outcome.status === 'rejected');
          if (failed) throw failed.reason;
        }),
        { numRuns: Math.ceil(RUNS / CONCURRENCY), seed: SEED, path: PATH },
      );
      const seconds = (Date.now() - started) / 1000;
      const summary = [...statuses]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, counts]) => {
          const byStatus = [...counts].sort(([a], [b]) => a - b);
          const mean = (millis.get(key) ?? 0) / byStatus.reduce((sum, [, n]) => sum + n, 0);
          return `  ${key} (${mean.toFixed(1)} ms): ${byStatus.map(([status, n]) => `${status}×${n}`).join(' ')}`;
        });
      console.info(`fuzz: ${sent} requests in ${seconds.toFixed(1)} s\n${summary.join('\n')}`);
      expect(sent).toBeGreaterThanOrEqual(RUNS);
      if (RUNS >= 1_000) expect([...statuses.keys()].sort()).toEqual(routes.map((route) => route.key).sort());

      // Failures off the request path count too, e.g. audit events the database refused.
      await t.app.get(AuditWriter).drain();
      const errors = t.logs.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
      expect(errors).toEqual([]);
      const ready = await t.http.get('/health/ready').timeout(REQUEST_TIMEOUT_MS);
      expect(ready.status).toBe(200);
    },
  );
});
