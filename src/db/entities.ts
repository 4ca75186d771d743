import { ApiKeyAddress } from '../modules/api-keys/api-key-address.entity.js';
import { ApiKey } from '../modules/api-keys/api-key.entity.js';
import { AccountToken } from '../modules/auth/account/account-token.entity.js';
import { SignInOrigin } from '../modules/auth/account/sign-in-origin.entity.js';
import { AuditEvent } from '../modules/audit/audit-event.entity.js';
import { MfaChallenge, RecoveryCode, TotpFactor } from '../modules/auth/mfa/mfa.entities.js';
import { Passkey, WebAuthnChallenge } from '../modules/auth/mfa/passkey.entities.js';
import { RefreshToken } from '../modules/auth/refresh/refresh-token.entity.js';
import { RevocationLogEntry } from '../modules/auth/revocation/revocation-log-entry.entity.js';
import { RevokedAccessToken } from '../modules/auth/revocation/revoked-access-token.entity.js';
import { TokenCutoff } from '../modules/auth/revocation/token-cutoff.entity.js';
import { Session } from '../modules/auth/sessions/session.entity.js';
import { PersonalToken } from '../modules/auth/tokens/personal-token.entity.js';
import { OutboxMail } from '../modules/mail/outbox-mail.entity.js';
import { OAuthClient } from '../modules/oauth/clients/oauth-client.entity.js';
import { OAuthModel } from '../modules/oauth/oauth-model.entity.js';
import { Resource } from '../modules/resources/resource.entity.js';
import { User } from '../modules/users/user.entity.js';

/** Every TypeORM entity; the app and the migration CLI share this list. */
export const entities = [
  User,
  RevokedAccessToken,
  RevocationLogEntry,
  TokenCutoff,
  RefreshToken,
  Session,
  PersonalToken,
  TotpFactor,
  RecoveryCode,
  MfaChallenge,
  Passkey,
  WebAuthnChallenge,
  Resource,
  ApiKey,
  ApiKeyAddress,
  AuditEvent,
  OAuthModel,
  OAuthClient,
  AccountToken,
  SignInOrigin,
  OutboxMail,
];
