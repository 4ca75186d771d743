import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

/** The response header naming the instance that answered, as nginx's `$upstream_addr` can. */
export const UPSTREAM_HEADER = 'x-upstream';

/**
 * A reverse proxy on loopback standing in for docker-compose's nginx: one public origin
 * in front of several instances, each request to the next one in turn (or to one, when
 * pinned). Like deploy/nginx.conf it keeps the Host, appends the client's address to
 * X-Forwarded-For and says the scheme in X-Forwarded-Proto; the instances trust it with
 * TRUST_PROXY=127.0.0.1, the address it connects from.
 */
export class LoadBalancer {
  private readonly connections = new Agent({ keepAlive: true });
  private readonly server = createServer((req, res) => this.forward(req, res));
  private readonly upstreams: string[] = [];
  private turn = 0;
  private pinned: string | undefined;

  private constructor() {}

  /**
   * Listens on a port of its own on 127.0.0.1, with nothing behind it yet (502): its origin
   * is the public URL the instances must be configured with before they start.
   */
  static async start(): Promise<LoadBalancer> {
    const balancer = new LoadBalancer();
    balancer.server.listen(0, '127.0.0.1');
    await once(balancer.server, 'listening');
    return balancer;
  }

  get origin(): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the load balancer is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Puts the instance at `upstream` (an origin) in the rotation. */
  add(upstream: string): void {
    this.upstreams.push(upstream);
  }

  /** Sends every request to `upstream` from now on, as when the others are out of rotation; no argument: in turn again. */
  pin(upstream?: string): void {
    if (upstream !== undefined && !this.upstreams.includes(upstream))
      throw new Error(`not behind this balancer: ${upstream}`);
    this.pinned = upstream;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
    this.connections.destroy();
  }

  private next(): string | undefined {
    if (this.pinned) return this.pinned;
    const upstream = this.upstreams[this.turn % this.upstreams.length];
    this.turn += 1;
    return upstream;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = this.next();
    if (upstream === undefined) {
      res.writeHead(502).end();
      return;
    }
    const target = new URL(upstream);
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const proxied = request(
      {
        agent: this.connections,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'http' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, [UPSTREAM_HEADER]: upstream });
        answer.pipe(res);
      },
    );
    proxied.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { [UPSTREAM_HEADER]: upstream }).end();
    });
    req.pipe(proxied);
  }
}
