import type { DestinationStream } from 'pino';
import type { AppConfig } from '../../config/app-config.js';

/**
 * Readable, coloured log lines for a person at a terminal in development; JSON otherwise
 * (undefined: pino's own JSON to stdout), which is what log shippers and tests read. The
 * startup line's fields (`startup`) are left out: its message says the same.
 * pino-pretty is a development dependency: an image without it logs JSON.
 */
export async function terminalDestination(config: AppConfig): Promise<DestinationStream | undefined> {
  if (config.app.isProduction || !process.stdout.isTTY) return undefined;
  try {
    const { default: pretty } = await import('pino-pretty');
    return pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,context,reqId,startup' });
  } catch {
    return undefined;
  }
}
