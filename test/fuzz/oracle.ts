import type { Response, Test } from 'supertest';
import { LEAKS_INTERNALS } from '../support/problem-details.js';
import type { Body, FuzzCase } from './arbitraries.js';
import type { Route } from './routes.js';
import { encodeComponent, headerSafe, materialize, text } from './symbols.js';
import type { World } from './world.js';

/*
 * Sending a case and judging the answer against the contract. Part of the fuzz suite,
 * test/e2e/fuzz.e2e-spec.ts.
 */

export const REQUEST_TIMEOUT_MS = 5_000;
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

/** docs/contract.md, "Everywhere": the API's CSP, as helmet writes it (src/common/http/security-headers.ts). */
const API_CSP = "default-src 'none';frame-ancestors 'none'";
/** The one route that opts out of no-store (jwks.controller.ts): public keys, cacheable for a few minutes. */
const CACHEABLE = 'GET /.well-known/jwks.json';

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

export async function send(world: World, routes: Map<string, Route>, c: FuzzCase): Promise<Sent> {
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

export function judge(c: FuzzCase, { res, url, sentText }: Sent, logs: string[]): void {
  const where = `${c.method} ${url.slice(0, 200)} as ${c.principal} -> ${res.status}`;
  const excerpt = () => `${res.headers['content-type'] ?? 'no content type'}: ${(res.text ?? '').slice(0, 500)}`;
  if (res.status >= 500) {
    // What the app logged of it (the error's name, message and code) says where to look.
    const id = String(res.headers['x-request-id']);
    const logged = logs.filter((line) => line.includes(id) && /"level":[56]0/.test(line)).join('\n');
    throw new Error(`${where}: a server error for a client's request\n${excerpt()}\n${logged}`);
  }
  const missing = missingHeader(c, url, res);
  if (missing) throw new Error(`${where}: ${missing}\n${excerpt()}`);
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

/** What of docs/contract.md's "every response carries" this answer lacks, if anything. */
function missingHeader(c: FuzzCase, url: string, res: Response): string | undefined {
  const header = (name: string) => res.headers[name] as string | undefined;
  if (!header('x-request-id')) return 'no X-Request-Id';
  if (header('x-content-type-options') !== 'nosniff') return 'no X-Content-Type-Options: nosniff';
  if (header('referrer-policy') !== 'no-referrer') return 'no Referrer-Policy: no-referrer';
  if (header('x-powered-by') !== undefined) return 'an X-Powered-By header';
  // Swagger UI's pages (not its .json) have a CSP of their own; everything else is the API's.
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const docsPage = path === '/docs' || (path.startsWith('/docs/') && !path.endsWith('.json'));
  if (!docsPage && header('content-security-policy') !== API_CSP) {
    return `a CSP other than the API's (${header('content-security-policy') ?? 'none'})`;
  }
  // Any answer may carry a credential, so none is cached but the JWKS the route itself serves.
  const optedOut = c.route === CACHEABLE && (c.method === 'GET' || c.method === 'HEAD') && res.status === 200;
  if (!optedOut && !/(^|,)\s*no-store\s*(,|$)/.test(header('cache-control') ?? '')) {
    return `no Cache-Control: no-store (${header('cache-control') ?? 'none'})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
