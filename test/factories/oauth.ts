import { createServer } from 'node:net';
import { once } from 'node:events';
import { expect } from 'vitest';

/** A port nobody listens on right now: the OAuth server's issuer must name the real origin. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no free TCP port');
  return address.port;
}

/** A browser's cookies, as far as a test needs them: by name, sent everywhere on one origin. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A browser without JavaScript: follows nothing by itself, keeps cookies, submits forms. */
export class FormBrowser {
  readonly jar = new CookieJar();

  constructor(readonly origin: string) {}

  async get(url: string): Promise<Response> {
    const res = await fetch(new URL(url, this.origin), { redirect: 'manual', headers: { cookie: this.jar.header() } });
    this.jar.store(res);
    return res;
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    const res = await fetch(new URL(url, this.origin), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    this.jar.store(res);
    return res;
  }

  /** Follows redirects on our origin; stops at the first one that leaves it (to the client) or at a page. */
  async follow(res: Response): Promise<Response> {
    let current = res;
    while (current.status >= 300 && current.status < 400) {
      const location = new URL(current.headers.get('location') ?? '', this.origin);
      if (location.origin !== this.origin) return current;
      current = await this.get(location.href);
    }
    return current;
  }
}

/** The hidden CSRF field and the form actions of an interaction page (answered with `status`). */
export async function readForm(
  res: Response,
  status = 200,
): Promise<{ html: string; csrf: string; actions: string[] }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  const csrf = hiddenField(html, 'csrf') ?? '';
  expect(csrf).toBeTruthy();
  const actions = [...html.matchAll(/action="([^"]+)"/g)].map((m) => unescape(m[1] ?? ''));
  return { html, csrf, actions };
}

/** The value of the hidden input `name` of a page, its HTML entities decoded. */
export function hiddenField(html: string, name: string): string | undefined {
  const value = new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
  return value === undefined ? undefined : unescape(value);
}

function unescape(value: string): string {
  return value.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}
