import { describe, expect, it } from 'vitest';
import { chainReport, checkpointReport } from './audit-verify.command.js';
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

  it('should name the gap of a broken link by the sequence numbers around it', () => {
    const firstBreak = { id: 'e-9', seq: '90', reason: 'link broken' as const, previousSeq: '80' };
    expect(chainReport({ checked: 79, firstBreak }).message).toBe(
      'Audit chain broken at event e-9 (seq 90): link broken: events between seq 80 and seq 90 are missing or were rewritten',
    );
  });

  it('should report an empty trail as intact', () => {
    expect(chainReport({ checked: 0, firstBreak: undefined }).message).toBe('Audit chain intact: 0 events');
  });
});

describe(checkpointReport.name, () => {
  const checkpoint = { seq: '120', hash: Buffer.alloc(32), at: new Date('2026-12-01T10:00:00Z'), jws: 'x.y.z' };

  it('should name the missing range of a cut tail, exit 1', () => {
    expect(checkpointReport(checkpoint, { kind: 'truncated', lastSeq: '115' })).toEqual({
      message:
        'Tail truncated: Checkpoint of 2026-12-01T10:00:00.000Z (seq 120): the trail ends at seq 115; events seq 116 to 120 are missing',
      exitCode: 1,
    });
  });

  it('should name the event that no longer matches, exit 1', () => {
    expect(checkpointReport(checkpoint, { kind: 'diverged', id: 'e-1' })).toEqual({
      message:
        'Checkpoint of 2026-12-01T10:00:00.000Z (seq 120) does not match event e-1: the trail up to seq 120 was rewritten',
      exitCode: 1,
    });
  });

  it('should say a matching checkpoint matches, exit 0', () => {
    expect(checkpointReport(checkpoint, { kind: 'matches' }).exitCode).toBe(0);
  });
});

describe(purgeReport.name, () => {
  const counts = {
    refreshTokens: 3,
    personalTokens: 1,
    sessions: 0,
    revokedAccessTokens: 7,
    tokenCutoffs: 2,
    revocationLog: 5,
    oauthModels: 4,
    apiKeyAddresses: 6,
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
        '  revocation log entries: 5',
        '  oauth codes, tokens and grants: 4',
        '  api key addresses: 6',
        '  audit events: 12',
        '',
      ].join('\n'),
    );
  });

  it('should say audit events are kept when no retention is set', () => {
    expect(purgeReport({ ...counts, auditEvents: null })).toContain('audit events: kept (AUDIT_RETENTION unset)');
  });
});
