import { describe, expect, it } from 'vitest';
import type { Request, Response } from 'express';
import { pino, type LoggerOptions } from 'pino';
import { loadConfig } from '../../config/app-config.js';
import { requestContext } from '../http/request-context.js';
import { loggerOptions, requestLogLevel } from './logger.options.js';

describe(requestLogLevel.name, () => {
  it('should log refusals at info and failures at error, whatever the configured level lets through', () => {
    const levelOf = requestLogLevel('info');
    expect(levelOf(200, false)).toBe('info');
    expect(levelOf(404, false)).toBe('info');
    expect(levelOf(401, false)).toBe('info');
    expect(levelOf(500, false)).toBe('error');
    expect(levelOf(200, true)).toBe('error');
  });

  it('should not build the line of a request the configured level drops', () => {
    const atWarn = requestLogLevel('warn');
    expect(atWarn(200, false)).toBe('silent');
    expect(atWarn(302, false)).toBe('silent');
    expect(atWarn(401, false)).toBe('silent');
    expect(atWarn(429, false)).toBe('silent');
    expect(atWarn(503, false)).toBe('error');
    expect(requestLogLevel('error')(401, false)).toBe('silent');
    expect(requestLogLevel('silent')(500, true)).toBe('silent');
    expect(requestLogLevel('trace')(200, false)).toBe('info');
  });
});

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
