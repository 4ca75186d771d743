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

/** What each permission lets a holder do, in the words the consent page and the API docs show. */
export const PERMISSION_WORDS: Readonly<Record<Permission, string>> = {
  'resources:read': 'Read your resources',
  'resources:write': 'Create, change and delete your resources',
  'users:read': 'See user accounts',
  'users:manage': 'Change and delete user accounts',
  'api-keys:manage': "Manage everyone's API keys",
  'audit:read': 'Read the audit trail',
  'oauth-clients:manage': 'Register and delete OAuth clients',
};

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}
