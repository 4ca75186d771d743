import { ConfigError } from '../config/app-config.js';
import { DataDirLockedError } from '../db/data-dir-locked.error.js';

/** A subcommand of `npm run cli`; later ones (keys:rotate, audit:verify, ...) follow the same shape. */
export interface CliCommand {
  /** Arguments after the command name, for the usage text. */
  readonly usage: string;
  readonly summary: string;
  /** Resolves to the exit code. Throws CliError for a failure the operator can act on. */
  run(args: string[]): Promise<number>;
}

/** A failure with a message meant for the operator; printed on stderr without a stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Wrong or missing arguments: exit code 2, as shells expect. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Errors whose message alone tells the operator what to do: no stack trace needed. */
export function isOperatorError(error: unknown): error is Error {
  return error instanceof CliError || error instanceof ConfigError || error instanceof DataDirLockedError;
}
