/**
 * What the MFA module announces after a change commits, for notices by mail ("a second
 * factor was added/removed", "an administrator reset your factors") and anyone else.
 */
export const MFA_EVENTS = {
  factorAdded: 'mfa.factor-added',
  factorRemoved: 'mfa.factor-removed',
  factorsReset: 'mfa.factors-reset',
} as const;

export interface MfaFactorEvent {
  userId: string;
  factor: 'totp' | 'passkey' | 'all';
  /** Who made the change: the user, or the administrator who reset the factors. */
  actorId: string;
}
