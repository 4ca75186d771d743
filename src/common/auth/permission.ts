/** Every permission of the API, `<area>:<action>`. OAuth and API-key scopes use the same names. */
export const PERMISSIONS = [
  'resources:read',
  'resources:write',
  'users:read',
  'users:manage',
  'api-keys:manage',
  'audit:read',
  'oauth-clients:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}
