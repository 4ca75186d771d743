import { InitialSchema1764100000000 } from './1764100000000-initial-schema.js';
import { Auth1764200000000 } from './1764200000000-auth.js';
import { Resources1764300000000 } from './1764300000000-resources.js';
import { ApiKeys1764400000000 } from './1764400000000-api-keys.js';
import { Audit1764500000000 } from './1764500000000-audit.js';
import { OAuth1764600000000 } from './1764600000000-oauth.js';
import { OAuthOwnerColumns1764700000000 } from './1764700000000-oauth-owner-columns.js';
import { ApiKeyAddresses1764800000000 } from './1764800000000-api-key-addresses.js';
import { CredentialLifecycle1764900000000 } from './1764900000000-credential-lifecycle.js';
import { AccountLifecycle1764918000000 } from './1764918000000-account-lifecycle.js';
import { AuditLeastPrivilege1765000000000 } from './1765000000000-audit-least-privilege.js';
import { Mfa1765200000000 } from './1765200000000-mfa.js';
import { Passkeys1765300000000 } from './1765300000000-passkeys.js';
import { ApiKeyAddressLastSeen1765400000000 } from './1765400000000-api-key-address-last-seen.js';

/**
 * Every migration, oldest first. `npm run migration:generate` writes a new file here: add
 * its class to this list (a test checks that every file in this folder is listed).
 */
export const migrations = [
  InitialSchema1764100000000,
  Auth1764200000000,
  Resources1764300000000,
  ApiKeys1764400000000,
  Audit1764500000000,
  OAuth1764600000000,
  OAuthOwnerColumns1764700000000,
  ApiKeyAddresses1764800000000,
  CredentialLifecycle1764900000000,
  AccountLifecycle1764918000000,
  AuditLeastPrivilege1765000000000,
  Mfa1765200000000,
  Passkeys1765300000000,
  ApiKeyAddressLastSeen1765400000000,
];
