import fc from 'fast-check';
import type { Route, Schema } from './routes.js';
import { Cat, Raw, Ref, Repeat, type RefName, type Text, type Twist } from './symbols.js';

/*
 * Generated requests: valid and broken values, bodies, headers and credentials for each route.
 * Part of the fuzz suite, test/e2e/fuzz.e2e-spec.ts.
 */

export type PrincipalName = 'anonymous' | 'user' | 'admin' | 'userToken' | 'userApiKey' | 'adminSession';

export type Body =
  { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'text'; text: Text } | { kind: 'bytes'; hex: string };

export interface FuzzCase {
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

export function cursorOf(parts: unknown): string {
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
    default:
      // Strings, and schemas without a type: by format below.
      break;
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
export function caseArb(route: Route): fc.Arbitrary<FuzzCase> {
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
