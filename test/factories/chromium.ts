import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; playwright-core never downloads a browser of its own here. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium. A machine without it fails the test that needs it rather than skipping
 * it: CI installs the package (.ci/run), so a missing browser is a broken setup.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * An OAuth client's redirect URI on a loopback port of its own: it answers every request
 * with a small page and hands a waiting test the URL the browser arrived with.
 */
export class RedirectTarget {
  private readonly waiting: ((url: URL) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly uri: string,
  ) {}

  static async start(): Promise<RedirectTarget> {
    let target: RedirectTarget | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (url.pathname === '/callback') target?.receive(url);
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>Client</title><p>Back at the client');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    target = new RedirectTarget(server, `http://127.0.0.1:${port}/callback`);
    return target;
  }

  /** The next arrival at the redirect URI from now on; an earlier one (another test's) is not it. */
  next(): Promise<URL> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private receive(url: URL): void {
    this.waiting.shift()?.(url);
  }
}
