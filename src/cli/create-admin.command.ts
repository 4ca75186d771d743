import { parseArgs } from 'node:util';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { isEmail } from 'class-validator';
import { AUDIT_RECORD, type AuditRecord } from '../common/audit/audit-record.js';
import { normalizeEmail } from '../common/auth/normalize-email.js';
import { ValidationFailedError } from '../common/errors/app-error.js';
import { UsersModule } from '../modules/users/users.module.js';
import { EmailTakenError } from '../modules/users/users.errors.js';
import { UsersService } from '../modules/users/users.service.js';
import { CliError, UsageError, type CliCommand } from './cli-command.js';
import { auditImports, loadCliConfig, withAppContext } from './cli-context.js';
import { readNewPassword } from './read-password.js';

const DEFAULT_DISPLAY_NAME = 'Administrator';

/** MFA_REQUIRED_ROLES names admin (the default): until enrolled, the admin may only enrol. */
const ENROLMENT_HELP = `Admins must enrol a second factor before anything else (MFA_REQUIRED_ROLES).
Sign in (POST /api/v1/auth/login), then POST /api/v1/auth/mfa/totp with that token: add the
otpauthUri (or the secret) to an authenticator app, and send its current code to
POST /api/v1/auth/mfa/totp/confirm. Keep the ten recovery codes it answers. (docs/auth-flows.md)
`;

/** `create-admin --email <email> [--name <display name>]`: the only way to make an admin. */
export const createAdmin: CliCommand = {
  usage: '--email <email> [--name <display name>]',
  summary: 'create an admin account; the password comes from stdin (one line) or a prompt',

  async run(args) {
    const { email, displayName } = parseCreateAdminArgs(args);
    const config = loadCliConfig();
    const password = await readNewPassword();
    return withAppContext(config, [UsersModule, ...auditImports(config)], async (context) => {
      // An admin made at the console is a security event like any change of roles: recorded
      // with no actor (the operator has no account), whether it succeeded or not.
      const audit = (record: Omit<AuditRecord, 'action' | 'security' | 'actorId'>) =>
        context
          .get(EventEmitter2)
          .emitAsync(AUDIT_RECORD, { action: 'user.create-admin', security: true, actorId: null, ...record });
      try {
        const admin = await context.get(UsersService).createAdmin({ email, password, displayName });
        await audit({ outcome: 'success', target: admin.id, details: { via: 'cli' } });
        process.stdout.write(`Created admin ${admin.email} (${admin.id})\n`);
        if (config.mfa.requiredRoles.includes('admin')) process.stdout.write(ENROLMENT_HELP);
        return 0;
      } catch (error) {
        await audit({ outcome: 'failure', target: email, details: { via: 'cli' } });
        if (error instanceof ValidationFailedError) {
          const problems = error.errors.map((e) => `  - ${e.field} ${e.message}`).join('\n');
          throw new CliError(`The password was refused:\n${problems}`);
        }
        if (error instanceof EmailTakenError) {
          throw new CliError(`An account with the email ${email} already exists; nothing was changed.`);
        }
        throw error;
      }
    });
  },
};

function parseCreateAdminArgs(args: string[]): {
  email: string;
  displayName: string;
} {
  let values: { email?: string; name?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { email: { type: 'string' }, name: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.email === undefined) throw new UsageError('--email is required');
  // The same rules as registration (RegisterDto).
  const email = normalizeEmail(values.email);
  if (email.length > 254 || !isEmail(email, { allow_display_name: false, allow_ip_domain: false })) {
    throw new UsageError(`--email: not a valid email address: ${values.email}`);
  }
  const displayName = (values.name ?? DEFAULT_DISPLAY_NAME).trim();
  if (displayName.length < 1 || displayName.length > 100) {
    throw new UsageError('--name: must be 1 to 100 characters');
  }
  return { email, displayName };
}
