/**
 * What the users module announces after a change; auth and the OAuth server revoke credentials
 * on them and the audit log records them. Emitted with emitAsync and awaited: the change is
 * answered only after every listener (revocation above all) has run.
 */
export const USER_EVENTS = {
  rolesChanged: 'user.roles-changed',
  deactivated: 'user.deactivated',
  deleted: 'user.deleted',
  passwordChanged: 'user.password-changed',
} as const;

export interface UserChangedEvent {
  userId: string;
  actorId: string;
}
