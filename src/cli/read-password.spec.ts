import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readFirstLine, readNewPassword } from './read-password.js';

function stdinOf(text: string): NodeJS.ReadStream {
  return Readable.from([text]) as unknown as NodeJS.ReadStream;
}

describe('readFirstLine', () => {
  it('should return the first line without its line ending', async () => {
    await expect(readFirstLine(stdinOf('Tidal-Orbit-1234-Quartz!\r\nsecond\n'))).resolves.toBe(
      'Tidal-Orbit-1234-Quartz!',
    );
  });

  it('should keep spaces, which may belong to the password', async () => {
    await expect(readFirstLine(stdinOf('  two words  \n'))).resolves.toBe('  two words  ');
  });

  it('should accept a last line without a line ending', async () => {
    await expect(readFirstLine(stdinOf('no-newline'))).resolves.toBe('no-newline');
  });

  it('should return undefined when the input is empty', async () => {
    await expect(readFirstLine(stdinOf(''))).resolves.toBeUndefined();
  });
});

describe('readNewPassword', () => {
  it('should read the password from stdin when stdin is not a terminal', async () => {
    await expect(readNewPassword(stdinOf('piped-secret\n'))).resolves.toBe('piped-secret');
  });

  it('should refuse an empty stdin', async () => {
    await expect(readNewPassword(stdinOf(''))).rejects.toThrow('No password on stdin');
  });
});
