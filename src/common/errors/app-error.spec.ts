import { describe, expect, it } from 'vitest';
import { BadRequestError } from './app-error.js';

describe('AppError', () => {
  it('should capture no stack frames, and leave other errors theirs', () => {
    const limit = Error.stackTraceLimit;
    const refusal = new BadRequestError('no such thing');
    expect(refusal).toBeInstanceOf(Error);
    expect(refusal.name).toBe('BadRequestError');
    expect(refusal.message).toBe('no such thing');
    expect(refusal.stack).not.toContain('\n    at ');
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('a bug').stack).toContain('\n    at ');
  });
});
