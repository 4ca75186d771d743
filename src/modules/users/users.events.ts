import type { EntityManager } from 'typeorm';

/**
 * What the users module announces when an account changes in a way that ends credentials.
 * Emitted with emitAsync and awaited *inside the transaction of the change*: each listener
 * (auth, API keys, the OAuth server) ends its credentials through `inTransaction`, so the change
 * and every revocation commit together or not at all, and pushes what must happen after the
 * commit (broadcasts to other instances, cache evictions) onto `afterCommit`.
 */
export const USER_EVENTS = {
  rolesChanged: 'user.roles-changed',
  deactivated: 'user.deactivated',
  deleted: 'user.deleted',
  passwordChanged: 'user.password-changed',
  /** Sign-out everywhere (the user's own, or an administrator's DELETE /users/:id/credentials). */
  signedOutEverywhere: 'user.signed-out-everywhere',
} as const;

export type UserEventName = (typeof USER_EVENTS)[keyof typeof USER_EVENTS];

/** The credential that made the change and survives it ("every other session"). */
export interface SurvivingCredential {
  kind: 'session' | 'refresh-family';
  id: string;
}

export interface UserChangedEvent {
  userId: string;
  actorId: string;
  /**
   * Runs `work` in the transaction of the change. Listeners run concurrently but share the
   * transaction's one connection, so their statements are queued here, one unit at a time.
   */
  inTransaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** Run, in order, once the transaction has committed. */
  afterCommit: (() => Promise<void>)[];
  /** The caller's own session or refresh family, which stays (password change, sign-out everywhere). */
  keep?: SurvivingCredential;
  /** Password change only: the user asked to keep their API keys. */
  keepApiKeys?: boolean;
}
