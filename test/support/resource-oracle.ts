import fc from 'fast-check';
import { PERMISSIONS, type Permission } from '../../src/common/auth/permission.js';
import { makePrincipal, type Principal } from '../../src/common/auth/principal.js';
import { ROLES, type Role } from '../../src/common/auth/roles.js';
import { roleTable } from './contract.js';

/**
 * docs/contract.md's role table, written by hand (and checked against roles.ts by
 * test/docs/contract.spec.ts): the expectations of the policy tests never ask the code under
 * test what a role grants.
 */
export const { permissions: ALL_PERMISSIONS, grants: GRANTS } = roleTable();

/** Who calls: roles, the credential's scopes (null: unscoped), and which user. */
export interface Caller {
  roles: Role[];
  scopes: Permission[] | null;
  userId: string;
}

export interface ResourceFacts {
  ownerId: string;
  visibility: 'private' | 'public';
}

const roleGrants = (roles: readonly string[], permission: string) =>
  roles.some((role) => GRANTS[role]?.includes(permission) === true);

/** What the contract says the caller may do: a role grants it and the scopes (if any) allow it. */
export const has = (caller: Caller, permission: string) =>
  roleGrants(caller.roles, permission) && (caller.scopes === null || caller.scopes.includes(permission as Permission));

/** The contract's read rule: anonymous callers see public resources, others also their own, admins all. */
export function expectedRead(caller: Caller | undefined, resource: ResourceFacts): boolean {
  const isPublic = resource.visibility === 'public';
  if (caller === undefined || !has(caller, 'resources:read')) return isPublic;
  return isPublic || resource.ownerId === caller.userId || caller.roles.includes('admin');
}

/** The contract's write rule: the owner or an admin, with resources:write. */
export function expectedWrite(caller: Caller, resource: ResourceFacts): boolean {
  return has(caller, 'resources:write') && (resource.ownerId === caller.userId || caller.roles.includes('admin'));
}

export const rolesArb = fc.subarray([...ROLES]);
export const scopesArb = fc.option(fc.subarray([...PERMISSIONS]), { nil: null });

export const callerArb = (userIds: readonly string[]): fc.Arbitrary<Caller> =>
  fc.record({ roles: rolesArb, scopes: scopesArb, userId: fc.constantFrom(...userIds) });

/** undefined: an anonymous caller. */
export const maybeCallerArb = (userIds: readonly string[]) => fc.option(callerArb(userIds), { nil: undefined });

export const resourceArb = (userIds: readonly string[]): fc.Arbitrary<ResourceFacts> =>
  fc.record({
    ownerId: fc.constantFrom(...userIds),
    visibility: fc.constantFrom('private' as const, 'public' as const),
  });

export const toPrincipal = (caller: Caller): Principal =>
  makePrincipal({ ...caller, authMethod: 'jwt', credentialId: 'credential-1' });
