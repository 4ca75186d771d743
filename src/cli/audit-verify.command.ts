import { readFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { AppConfig } from '../config/app-config.js';
import { parseKeySet, readKeySetFile, toSigningKey } from '../modules/auth/jwt/signing-keys.js';
import { AuditEvent } from '../modules/audit/audit-event.entity.js';
import {
  AuditEventsRepository,
  type ChainBreak,
  type CheckpointMatch,
} from '../modules/audit/audit-events.repository.js';
import {
  CheckpointInvalidError,
  findCheckpointJws,
  verifyCheckpoint,
  type Checkpoint,
  type CheckpointKeys,
} from '../modules/audit/checkpoints/audit-checkpoint.js';
import { CliError, UsageError, type CliCommand } from './cli-command.js';
import { loadCliConfig, withAppContext } from './cli-context.js';

/** The audit table and its repository alone: no writer, no interceptor, no alerts. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent])],
  providers: [AuditEventsRepository],
})
class AuditChainModule {}

export interface Report {
  message: string;
  exitCode: number;
}

/** What `audit:verify` prints, and its exit code, for a walk of the chain. */
export function chainReport(result: { checked: number; firstBreak: ChainBreak | undefined }): Report {
  const broken = result.firstBreak;
  if (!broken) return { message: `Audit chain intact: ${result.checked} events`, exitCode: 0 };
  const gap =
    broken.reason === 'link broken' && broken.previousSeq
      ? `: events between seq ${broken.previousSeq} and seq ${broken.seq} are missing or were rewritten`
      : '';
  return {
    message: `Audit chain broken at event ${broken.id} (seq ${broken.seq}): ${broken.reason}${gap}`,
    exitCode: 1,
  };
}

/** What `audit:verify` prints for the comparison of the trail with the newest checkpoint. */
export function checkpointReport(checkpoint: Checkpoint, match: CheckpointMatch): Report {
  const of = `Checkpoint of ${checkpoint.at.toISOString()} (seq ${checkpoint.seq})`;
  switch (match.kind) {
    case 'matches':
      return { message: `${of} matches`, exitCode: 0 };
    case 'truncated': {
      const from = match.lastSeq === null ? '1' : String(BigInt(match.lastSeq) + 1n);
      const ends = match.lastSeq === null ? 'the trail is empty' : `the trail ends at seq ${match.lastSeq}`;
      return {
        message: `Tail truncated: ${of}: ${ends}; events seq ${from} to ${checkpoint.seq} are missing`,
        exitCode: 1,
      };
    }
    case 'diverged':
      return {
        message: `${of} does not match event ${match.id}: the trail up to seq ${checkpoint.seq} was rewritten`,
        exitCode: 1,
      };
    case 'missing':
      return { message: `${of}: event seq ${checkpoint.seq} is missing from the trail`, exitCode: 1 };
    case 'purged':
      return {
        message: `${of} is older than the oldest event kept (seq ${match.firstSeq}): give a newer checkpoint`,
        exitCode: 1,
      };
  }
}

/** The server's public keys by kid (JWT_KEYS or JWT_KEYS_FILE): checkpoints are signed with them. */
function checkpointKeys(config: AppConfig): CheckpointKeys {
  const { keysJson, keysFile } = config.auth;
  const keySet = keysJson ? parseKeySet(keysJson, 'JWT_KEYS') : keysFile ? readKeySetFile(keysFile) : undefined;
  if (!keySet) throw new CliError(`No JWT keys to check the checkpoint with: set JWT_KEYS or JWT_KEYS_FILE`);
  const keys = keySet.keys.map(toSigningKey);
  return (kid) => {
    const key = keys.find((candidate) => candidate.kid === kid);
    return key ? { publicKey: key.publicKey, alg: key.alg } : undefined;
  };
}

function parseArgs(args: string[]): { checkpointFile: string | undefined } {
  if (args.length === 0) return { checkpointFile: undefined };
  if (args[0] === '--checkpoint' && args.length === 2) return { checkpointFile: args[1] };
  throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
}

function readCheckpointFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const jws = findCheckpointJws(text);
  if (!jws) throw new CliError(`No checkpoint (a JWS) in ${path}`);
  return jws;
}

/**
 * `audit:verify [--checkpoint <file>]`: recomputes every hash of the audit trail in write
 * order and names the first altered event or the first gap; then checks the trail against
 * the newest checkpoint, from the file (a JWS, or a log line or webhook body holding one:
 * the copy kept outside the database) or else the newest in `audit_checkpoints`, and names
 * a cut tail by its missing range. Exit 1 at any finding.
 */
export const auditVerify: CliCommand = {
  usage: '[--checkpoint <file>]',
  summary: 'check the audit hash chain, and its head against the newest signed checkpoint; exit 1 naming what broke',

  async run(args) {
    const { checkpointFile } = parseArgs(args);
    const config = loadCliConfig();
    const fromFile = checkpointFile ? readCheckpointFile(checkpointFile) : undefined;
    return withAppContext(config, [AuditChainModule], async (context) => {
      const events = context.get(AuditEventsRepository);
      const reports = [chainReport(await events.verifyChain())];
      const jws = fromFile ?? (await events.newestCheckpointJws());
      if (!jws) {
        reports.push({ message: 'No checkpoint to check the tail against', exitCode: 0 });
      } else {
        try {
          const checkpoint = await verifyCheckpoint(jws, checkpointKeys(config));
          reports.push(checkpointReport(checkpoint, await events.compareWithCheckpoint(checkpoint)));
        } catch (error) {
          if (!(error instanceof CheckpointInvalidError)) throw error;
          reports.push({ message: `Checkpoint refused: ${error.message}`, exitCode: 1 });
        }
      }
      process.stdout.write(`${reports.map((report) => report.message).join('\n')}\n`);
      return Math.max(...reports.map((report) => report.exitCode));
    });
  },
};
