import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.js';
import { auditTrailExposure, type AuditTrailExposure } from '../../db/database-roles.js';

export const SINGLE_ROLE_WARNING =
  "the server's database role can rewrite the audit trail: run migrations as another role (DATABASE_MIGRATION_URL)";

/**
 * Whether the server's own database role could rewrite the audit trail (it owns the table,
 * is a superuser, or holds UPDATE/DELETE/TRUNCATE on it), read once at boot. A single-role
 * deployment still runs; readiness, the `audit_trail_protected` gauge and one warning at
 * boot say so.
 */
@Injectable()
export class AuditPrivileges implements OnModuleInit {
  private exposure: AuditTrailExposure | undefined;

  constructor(
    private readonly dataSource: DataSource,
    metrics: MetricsRegistry,
    @InjectPinoLogger(AuditPrivileges.name) private readonly logger: PinoLogger,
  ) {
    const read = () => this.exposure;
    new Gauge({
      name: 'audit_trail_protected',
      help: "1 when the server's database role can only append to the audit trail; 0 when it could rewrite it",
      registers: [metrics.registry],
      collect() {
        const exposure = read();
        if (exposure) this.set(exposure.rewritable ? 0 : 1);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    this.exposure = await auditTrailExposure(this.dataSource);
    if (this.exposure.rewritable) this.logger.warn({ role: this.exposure.role }, SINGLE_ROLE_WARNING);
  }

  /** For readiness: always up; with a warning when the trail is not protected from this role. */
  get status(): { protected: boolean; role: string; warning?: string } {
    const exposure = this.exposure ?? { rewritable: true, role: 'unknown' };
    return exposure.rewritable
      ? { protected: false, role: exposure.role, warning: SINGLE_ROLE_WARNING }
      : { protected: true, role: exposure.role };
  }
}
