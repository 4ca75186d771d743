import { PERMISSIONS, type Permission } from './permission.js';

export const ROLES = ['user', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const USER: readonly Permission[] = ['resources:read', 'resources:write'];
const STAFF: readonly Permission[] = [...USER, 'users:read', 'audit:read'];

/** The one place that says what each role may do. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  user: new Set(USER),
  staff: new Set(STAFF),
  admin: new Set(PERMISSIONS),
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The union of what the given roles grant. */
export function permissionsOfRoles(roles: readonly Role[]): Set<Permission> {
  const granted = new Set<Permission>();
  for (const role of roles) for (const p of ROLE_PERMISSIONS[role]) granted.add(p);
  return granted;
}
