import { CliError, isOperatorError, UsageError, type CliCommand } from './cli/cli-command.js';
import { auditVerify } from './cli/audit-verify.command.js';
import { createAdmin } from './cli/create-admin.command.js';
import { keysRotate } from './cli/keys-rotate.command.js';
import { tokensPurge } from './cli/tokens-purge.command.js';

/** Every command of `npm run cli -- <command> [options]`. */
const commands: Readonly<Record<string, CliCommand>> = {
  'create-admin': createAdmin,
  'tokens:purge': tokensPurge,
  'audit:verify': auditVerify,
  'keys:rotate': keysRotate,
};

function usage(): string {
  const lines = Object.entries(commands).map(
    ([name, command]) => `  ${name} ${command.usage}\n      ${command.summary}`,
  );
  return `Usage: npm run cli -- <command> [options]\n\nCommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command: ${name}\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      throw new UsageError(`${error.message}\nUsage: npm run cli -- ${name} ${command.usage}`);
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = isOperatorError(error) ? error.message : `Failed: ${(error as Error)?.message ?? String(error)}`;
    process.stderr.write(`${message}\n`);
    // A command that failed may have failed while its app context booted, before anything
    // could close the connections already opened (Redis, the pool): they would keep the
    // process alive, and a job runner would wait forever for an exit code.
    process.exit(error instanceof CliError ? error.exitCode : 1);
  },
);
