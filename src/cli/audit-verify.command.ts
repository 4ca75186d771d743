import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEvent } from '../modules/audit/audit-event.entity.js';
import { AuditEventsRepository, type ChainBreak } from '../modules/audit/audit-events.repository.js';
import { UsageError, type CliCommand } from './cli-command.js';
import { loadCliConfig, withAppContext } from './cli-context.js';

/** The audit table and its repository alone: no writer, no interceptor, no alerts. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  providers: [AuditEventsRepository],
})
class AuditChainModule {}

/** What `audit:verify` prints, and its exit code, for a walk of the chain. */
export function chainReport(result: { checked: number; firstBreak: ChainBreak | undefined }): {
  message: string;
  exitCode: number;
} {
  const broken = result.firstBreak;
  if (!broken) return { message: `Audit chain intact: ${result.checked} events`, exitCode: 0 };
  return {
    message: `Audit chain broken at event ${broken.id} (seq ${broken.seq}): ${broken.reason}`,
    exitCode: 1,
  };
}

/** `audit:verify`: recomputes every hash of the audit trail in write order; exit 1 at the first break. */
export const auditVerify: CliCommand = {
  usage: '',
  summary: 'check the audit trail hash chain; exit 1 naming the first altered or unlinked event',

  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
    const config = loadCliConfig();
    return withAppContext(config, [AuditChainModule], async (context) => {
      const report = chainReport(await context.get(AuditEventsRepository).verifyChain());
      process.stdout.write(`${report.message}\n`);
      return report.exitCode;
    });
  },
};
