import type { Principal } from '../../common/auth/principal.js';

/**
 * Which resources a caller reaches, as data: the repository turns it into a WHERE clause
 * (so nothing invisible is ever fetched) and `reaches` into a yes/no for one resource.
 */
export type ResourceScope =
  | { kind: 'all' }
  | { kind: 'public' }
  | { kind: 'public-or-owned'; ownerId: string }
  | { kind: 'owned'; ownerId: string }
  | { kind: 'none' };

const isAdmin = (principal: Principal) => principal.roles.includes('admin');

/** Anonymous callers see public resources, signed-in ones also their own, admins all. */
export function readScope(principal: Principal | undefined): ResourceScope {
  if (!principal) return { kind: 'public' };
  if (!principal.permissions.has('resources:read')) return { kind: 'public' };
  if (isAdmin(principal)) return { kind: 'all' };
  return { kind: 'public-or-owned', ownerId: principal.userId };
}

/** The owner or an admin may change a resource, with `resources:write` in either case. */
export function writeScope(principal: Principal): ResourceScope {
  if (!principal.permissions.has('resources:write')) return { kind: 'none' };
  if (isAdmin(principal)) return { kind: 'all' };
  return { kind: 'owned', ownerId: principal.userId };
}

export function reaches(scope: ResourceScope, resource: { ownerId: string; visibility: string }): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'public':
      return resource.visibility === 'public';
    case 'public-or-owned':
      return resource.visibility === 'public' || resource.ownerId === scope.ownerId;
    case 'owned':
      return resource.ownerId === scope.ownerId;
    case 'none':
      return false;
  }
}
