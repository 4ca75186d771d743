import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP hop in front of a server (Postgres) that a test can make go silent, as a broken
 * network does: connections stay open but nothing gets through, either way, and new ones
 * are accepted and then hear nothing; or refuse, as a stopped server does. `heal` resets every connection (the bytes dropped
 * meanwhile broke them) and forwards again.
 */
export class SilenceableHop {
  private silent = false;
  private refusing = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(private readonly target: URL) {
    this.server = createServer((client) => this.forward(client));
  }

  /** A hop to the host and port of `targetUrl`. */
  static async start(targetUrl: string): Promise<SilenceableHop> {
    const hop = new SilenceableHop(new URL(targetUrl));
    hop.server.listen(0, '127.0.0.1');
    await once(hop.server, 'listening');
    return hop;
  }

  /** `targetUrl` with the hop's host and port instead. */
  get url(): string {
    const url = new URL(this.target);
    url.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return url.toString();
  }

  silence(): void {
    this.silent = true;
  }

  /** As a stopped server: every connection is dropped, and new ones are closed at once. */
  refuse(): void {
    this.refusing = true;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.silent = false;
    this.refusing = false;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private forward(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(this.target.port || 5432), this.target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (!this.silent) to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}
