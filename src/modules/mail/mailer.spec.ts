import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PinoLogger } from 'nestjs-pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/app-config.js';
import { isPlainAddress, UnsafeRecipientError } from './mail-address.js';
import { DevelopmentMailer } from './mailer.js';

const logged: unknown[] = [];
const logger = { info: (entry: unknown) => logged.push(entry) } as unknown as PinoLogger;
const mail = { subject: 'Hello', text: 'Code: abc\n', html: '<p>Code: abc</p>' };

describe(DevelopmentMailer.name, () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mailer-'));
    logged.length = 0;
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('should write each mail to DATA_DIR/mail as an .eml file and to the log', async () => {
    const mailer = new DevelopmentMailer(
      loadConfig({ DATA_DIR: dataDir, MAIL_FROM: 'API <no-reply@example.com>' }),
      logger,
    );
    await mailer.send({ to: 'ada@example.com', ...mail });
    const [file] = await readdir(join(dataDir, 'mail'));
    expect(file).toMatch(/\.eml$/);
    const eml = await readFile(join(dataDir, 'mail', file as string), 'utf8');
    expect(eml).toMatch(/^To: ada@example\.com$/m);
    expect(eml).toMatch(/^From: API <no-reply@example\.com>$/m);
    expect(eml).toMatch(/^Code: abc$/m);
    expect(logged).toHaveLength(1);
  });

  it('should refuse a recipient that would add a header or another recipient', async () => {
    const mailer = new DevelopmentMailer(loadConfig({ DATA_DIR: dataDir }), logger);
    for (const to of ['a@example.com\r\nBcc: b@example.com', 'a@example.com, b@example.com', 'Eve <a@example.com>']) {
      await expect(mailer.send({ to, ...mail })).rejects.toBeInstanceOf(UnsafeRecipientError);
    }
    await expect(readdir(join(dataDir, 'mail'))).rejects.toThrow();
  });
});

describe(isPlainAddress.name, () => {
  it('should accept one plain address and nothing that carries header syntax', () => {
    expect(isPlainAddress('user+tag@sub.example.com')).toBe(true);
    for (const bad of [
      'a@b\nc',
      'a@b\rc',
      '"a"@b.c',
      'a@b.c;d@e.f',
      '<a@b.c>',
      'a b@c.d',
      'a@b@c',
      `${'a'.repeat(250)}@b.cd`,
    ]) {
      expect(isPlainAddress(bad), bad).toBe(false);
    }
  });
});
