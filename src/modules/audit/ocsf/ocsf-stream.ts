import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../../../config/app-config.js';
import type { ChainedContent } from '../audit-chain.js';
import { AuditWriter } from '../audit-writer.js';
import { toOcsf } from './ocsf-record.js';

/**
 * AUDIT_OCSF: a copy of the audit trail as OCSF 1.3 JSON for a SIEM, one record per event
 * once it is stored, in chain order. `log`: one log line per record (field `ocsf`); a path:
 * JSON lines appended to that file (created 0600). Nothing when unset.
 */
@Injectable()
export class OcsfStream implements OnModuleInit, OnApplicationShutdown {
  private file: WriteStream | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly writer: AuditWriter,
    @InjectPinoLogger(OcsfStream.name) private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    const target = this.config.audit.ocsf;
    if (!target) return;
    if (target !== 'log') {
      this.file = createWriteStream(target, { flags: 'a', mode: 0o600 });
      this.file.on('error', (error) => this.logger.error({ err: error }, 'OCSF file not written'));
    }
    this.writer.onWritten((events) => this.emit(events));
  }

  /** After the audit buffer drained (beforeApplicationShutdown): every record is in the file. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.file || this.file.closed) return;
    this.file.end();
    await once(this.file, 'close');
  }

  private emit(events: readonly ChainedContent[]): void {
    if (this.file) {
      this.file.write(events.map((event) => `${JSON.stringify(toOcsf(event))}\n`).join(''));
      return;
    }
    for (const event of events) this.logger.info({ ocsf: toOcsf(event) }, 'ocsf');
  }
}
