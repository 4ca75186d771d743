/**
 * How and when a user proved who they are (OIDC `auth_time`, RFC 8176 `amr`). Every
 * first-party credential carries the proof of the sign-in it came from, through refreshes,
 * so a route can ask for a recent one, or one with a second factor (RFC 9470 step-up).
 */
export const AUTHENTICATION_METHODS = ['pwd', 'otp', 'mfa', 'hwk', 'swk', 'user'] as const;
export type AuthenticationMethod = (typeof AUTHENTICATION_METHODS)[number];

export interface SignInProof {
  /** Epoch seconds. */
  authTime: number;
  amr: readonly AuthenticationMethod[];
}

export function isAuthenticationMethod(value: unknown): value is AuthenticationMethod {
  return typeof value === 'string' && (AUTHENTICATION_METHODS as readonly string[]).includes(value);
}

/** A sign-in by password alone, now. */
export const passwordProof = (): SignInProof => ({ authTime: Math.floor(Date.now() / 1000), amr: ['pwd'] });

/** Whether the proof includes a second factor (RFC 8176 `mfa`). */
export const usedSecondFactor = (proof: Pick<SignInProof, 'amr'>): boolean => proof.amr.includes('mfa');
