import { describe, expect, it } from 'vitest';
import { chainReport } from './audit-verify.command.js';
import { purgeReport } from './tokens-purge.command.js';

describe(chainReport.name, () => {
  it('should say the chain is intact with the number of events, exit 0', () => {
    expect(chainReport({ checked: 1234, firstBreak: undefined })).toEqual({
      message: 'Audit chain intact: 1234 events',
      exitCode: 0,
    });
  });

  it('should name the first broken event by id and seq with the reason, exit 1', () => {
    const firstBreak = { id: '0b6f5bde-3c5a-4f6e-9a57-5f4f3b1d2c10', seq: '42', reason: 'link broken' as const };
    expect(chainReport({ checked: 41, firstBreak })).toEqual({
      message: 'Audit chain broken at event 0b6f5bde-3c5a-4f6e-9a57-5f4f3b1d2c10 (seq 42): link broken',
      exitCode: 1,
    });
  });

  it('should report an empty trail as intact', () => {
    expect(chainReport({ checked: 0, firstBreak: undefined }).message).toBe('Audit chain intact: 0 events');
  });
});

describe(purgeReport.name, () => {
  const counts = {
    refreshTokens: 3,
    personalTokens: 1,
    sessions: 0,
    revokedAccessTokens: 7,
    tokenCutoffs: 2,
    oauthModels: 4,
  };

  it('should print one line per kind', () => {
    expect(purgeReport({ ...counts, auditEvents: 12 })).toBe(
      [
        'Purged',
        '  refresh tokens: 3',
        '  personal tokens: 1',
        '  sessions: 0',
        '  revoked access tokens: 7',
        '  token cutoffs: 2',
        '  oauth codes, tokens and grants: 4',
        '  audit events: 12',
        '',
      ].join('\n'),
    );
  });

  it('should say audit events are kept when no retention is set', () => {
    expect(purgeReport({ ...counts, auditEvents: null })).toContain('audit events: kept (AUDIT_RETENTION unset)');
  });
});
