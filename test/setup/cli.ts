import { vi } from 'vitest';
import type { CliCommand } from '../../src/cli/cli-command.js';

/** Where a command's data lives: a Postgres database, or the embedded one's folder (and any other setting). */
export type CliStorage = ({ DATABASE_URL: string } | { DATA_DIR: string }) & Record<string, string>;

/**
 * Runs a CLI command as an operator would, against `storage` (a DATABASE_URL, or a DATA_DIR
 * for the embedded database, in which case the file's DATABASE_URL is taken away), with
 * what it writes to stdout captured. The environment is restored afterwards.
 */
export async function runCli(
  command: CliCommand,
  args: string[],
  storage: CliStorage,
): Promise<{ code: number; stdout: string }> {
  const saved = process.env;
  process.env = { ...saved, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...storage };
  if (!('DATABASE_URL' in storage)) delete process.env.DATABASE_URL;
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  try {
    return { code: await command.run(args), stdout };
  } finally {
    write.mockRestore();
    process.env = saved;
  }
}
