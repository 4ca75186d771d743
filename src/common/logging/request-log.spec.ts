import { describe, expect, it } from 'vitest';
import { requestLogLevel } from './request-log.js';

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
