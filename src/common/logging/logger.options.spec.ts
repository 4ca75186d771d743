import { describe, expect, it } from 'vitest';
import type { Request, Response } from 'express';
import { pino, type LoggerOptions } from 'pino';
import { loadConfig } from '../../config/app-config.js';
import { requestContext } from '../http/request-context.js';
import { loggerOptions } from './logger.options.js';

describe(loggerOptions.name, () => {
  it('should give a line written while a request is served its id, and none to a line outside one', () => {
    const lines: string[] = [];
    const destination = { write: (line: string) => void lines.push(line) };
    const [options] = loggerOptions(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info' }), destination).pinoHttp as [
      LoggerOptions,
      unknown,
    ];
    const logger = pino(options, destination);
    const request = { id: 'req-7f3a' } as Request;
    requestContext(request, {} as Response, () => logger.info('inside'));
    logger.info('outside');
    const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: 'inside', reqId: 'req-7f3a' });
    expect(outside).toMatchObject({ msg: 'outside' });
    expect(outside).not.toHaveProperty('reqId');
  });
});
