import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One mail as the SMTP server received it, parsed. */
export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The raw message, headers included. */
  raw: string;
  /** The token of its `Code:` line, when it has one. */
  code: string | undefined;
}

/**
 * A real SMTP server (the smtp-server package, as mail relays built on Node use) on a port
 * of its own: the app under test delivers to it over TCP as it would to any relay. It can
 * stop and start again on the same port, as a relay that goes down and comes back.
 */
export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  private readonly arrivals = new EventEmitter();
  private server: SMTPServer | undefined;

  private constructor(private port: number) {}

  static async start(): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(0);
    await smtp.listen();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  private async listen(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              this.received(parsed, raw.toString('utf8'));
              done();
            },
            (error: Error) => done(error),
          );
        });
      },
    });
    server.listen(this.port, '127.0.0.1');
    await once(server.server, 'listening');
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  private received(parsed: ParsedMail, raw: string): void {
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    const text = parsed.text ?? '';
    const mail: ReceivedMail = {
      to: to?.value[0]?.address ?? '',
      subject: parsed.subject ?? '',
      text,
      html: typeof parsed.html === 'string' ? parsed.html : '',
      raw,
      code: /^Code: (\S+)$/m.exec(text)?.[1],
    };
    this.mails.push(mail);
    this.arrivals.emit('mail', mail);
  }

  /** Mails to `to` so far (optionally with this subject). */
  to(to: string, subject?: RegExp): ReceivedMail[] {
    return this.mails.filter((mail) => mail.to === to && (!subject || subject.test(mail.subject)));
  }

  /** The first mail to `to` (with this subject) received so far or from now on. */
  async next(to: string, subject?: RegExp, withinMs = 15_000): Promise<ReceivedMail> {
    const matches = (mail: ReceivedMail) => mail.to === to && (!subject || subject.test(mail.subject));
    const already = this.mails.find(matches);
    if (already) return already;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.arrivals.off('mail', listener);
        reject(new Error(`no mail to ${to}${subject ? ` matching ${subject}` : ''} within ${withinMs} ms`));
      }, withinMs);
      const listener = (mail: ReceivedMail) => {
        if (!matches(mail)) return;
        clearTimeout(timer);
        this.arrivals.off('mail', listener);
        resolve(mail);
      };
      this.arrivals.on('mail', listener);
    });
  }

  /** Stops accepting connections (as a relay that went down); `start` brings it back on the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async restart(): Promise<void> {
    await this.listen();
  }
}
