import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../config/app-config.js';
import { isPlainAddress, UnsafeRecipientError } from './mail-address.js';
import type { RenderedMail } from './mail-templates.js';

/** One mail ready to go: the recipient is one plain address (checked again here). */
export interface OutgoingMail extends RenderedMail {
  to: string;
}

/** How long one delivery may take before it counts as failed (and is retried). */
export const SEND_TIMEOUT_MS = 30_000;

/** Delivers mail; the outbox worker is its only caller. */
export abstract class Mailer {
  abstract send(mail: OutgoingMail): Promise<void>;
  abstract close(): void;
}

/** What every message gets: no attachments, no file or URL reads, our From. */
function message(from: string, mail: OutgoingMail) {
  if (!isPlainAddress(mail.to)) throw new UnsafeRecipientError();
  return {
    from,
    // An address object, never a string nodemailer would parse for names and lists.
    to: { name: '', address: mail.to },
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** nodemailer over SMTP (SMTP_URL), one connection per mail, each step bounded in time. */
export class SmtpMailer extends Mailer {
  private readonly transport;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    super();
    const options = new URL(url);
    this.transport = createTransport({
      url,
      // smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS when offered.
      secure: options.protocol === 'smtps:',
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transport.sendMail({ ...message(this.from, mail), signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * Development without SMTP_URL: each mail as the same MIME message SMTP would carry, to
 * `DATA_DIR/mail/<time>-<n>.eml` (open it in a mail client, or read the link in it) and to
 * the log. With DATA_DIR=:memory:, to the log only.
 */
@Injectable()
export class DevelopmentMailer extends Mailer {
  private readonly transport = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  private readonly from: string;
  private readonly folder: string | undefined;
  private written = 0;

  constructor(
    config: AppConfig,
    @InjectPinoLogger(DevelopmentMailer.name) private readonly logger: PinoLogger,
  ) {
    super();
    this.from = config.mail.from;
    this.folder = config.app.dataDir && join(config.app.dataDir, 'mail');
  }

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transport.sendMail(message(this.from, mail));
    let file: string | undefined;
    if (this.folder) {
      await mkdir(this.folder, { recursive: true, mode: 0o700 });
      this.written += 1;
      file = join(this.folder, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${this.written}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
    }
    this.logger.info(
      { mail: { to: mail.to, subject: mail.subject, file, text: mail.text } },
      'mail (development: no SMTP_URL)',
    );
  }

  close(): void {
    this.transport.close();
  }
}
