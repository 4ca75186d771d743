import { RetentionModule } from '../modules/retention/retention.module.js';
import { RetentionService, type PurgeCounts } from '../modules/retention/retention.service.js';
import { UsageError, type CliCommand } from './cli-command.js';
import { loadCliConfig, withAppContext } from './cli-context.js';

/** One line per kind, as `tokens:purge` prints them. */
export function purgeReport(counts: PurgeCounts): string {
  const lines = [
    `refresh tokens: ${counts.refreshTokens}`,
    `personal tokens: ${counts.personalTokens}`,
    `sessions: ${counts.sessions}`,
    `revoked access tokens: ${counts.revokedAccessTokens}`,
    `token cutoffs: ${counts.tokenCutoffs}`,
    `revocation log entries: ${counts.revocationLog}`,
    `oauth codes, tokens and grants: ${counts.oauthModels}`,
    `api key addresses: ${counts.apiKeyAddresses}`,
    `audit events: ${counts.auditEvents ?? 'kept (AUDIT_RETENTION unset)'}`,
  ];
  return `Purged\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
}

/** `tokens:purge`: what the server's retention schedule does, once (cleartokens / flushexpiredtokens). */
export const tokensPurge: CliCommand = {
  usage: '',
  summary:
    'delete expired tokens, sessions and revocations, stale API-key addresses, and audit events past AUDIT_RETENTION',

  async run(args) {
    if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
    const config = loadCliConfig();
    return withAppContext(config, [RetentionModule], async (context) => {
      process.stdout.write(purgeReport(await context.get(RetentionService).purgeExpired()));
      return 0;
    });
  },
};
