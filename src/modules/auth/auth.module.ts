import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountToken } from './account/account-token.entity.js';
import { AccountTokens } from './account/account-tokens.js';
import { AccountController } from './account/account.controller.js';
import { AccountService } from './account/account.service.js';
import { PasswordResetService } from './account/password-reset.service.js';
import { SignInOrigin } from './account/sign-in-origin.entity.js';
import { SignInPolicy } from './account/sign-in-policy.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { AuthCredentialSources } from './credentials/auth-credential-sources.js';
import { CredentialInventory } from './credentials/credential-inventory.js';
import { CredentialLifecycleListener } from './credentials/credential-lifecycle.listener.js';
import { CredentialsController, UserCredentialsController } from './credentials/credentials.controller.js';
import { RefreshTokensRepository } from './refresh/refresh-tokens.repository.js';
import { SessionsRepository } from './sessions/sessions.repository.js';
import { PersonalTokensRepository } from './tokens/personal-tokens.repository.js';
import { CredentialStrategies } from './credential-strategies.js';
import { CredentialGuard } from './credential.guard.js';
import { AccessTokensService } from './jwt/access-tokens.service.js';
import { JwksController } from './jwt/jwks.controller.js';
import { SigningKeysService } from './jwt/signing-keys.service.js';
import { LockoutService } from './lockout/lockout.service.js';
import { MfaNoticesListener } from './mfa/mfa-notices.listener.js';
import { MfaSignInService } from './mfa/mfa-sign-in.service.js';
import { MfaController, UserMfaController } from './mfa/mfa.controller.js';
import { MfaChallenge, RecoveryCode, TotpFactor } from './mfa/mfa.entities.js';
import { MfaRepository } from './mfa/mfa.repository.js';
import { MfaService } from './mfa/mfa.service.js';
import { Passkey, WebAuthnChallenge } from './mfa/passkey.entities.js';
import { PasskeysController } from './mfa/passkeys.controller.js';
import { PasskeysRepository } from './mfa/passkeys.repository.js';
import { PasskeysService } from './mfa/passkeys.service.js';
import { SecretBox } from './mfa/secret-box.js';
import { StepUpService } from './mfa/step-up.service.js';
import { SessionSignIn } from './sessions/session-sign-in.js';
import { RefreshToken } from './refresh/refresh-token.entity.js';
import { RefreshTokensService } from './refresh/refresh-tokens.service.js';
import { RevocationService } from './revocation/revocation.service.js';
import { RevokedAccessToken } from './revocation/revoked-access-token.entity.js';
import { TokenCutoff } from './revocation/token-cutoff.entity.js';
import { CsrfService } from './sessions/csrf.service.js';
import { Session } from './sessions/session.entity.js';
import { SessionsController } from './sessions/sessions.controller.js';
import { SessionsService } from './sessions/sessions.service.js';
import { JwtStrategy } from './strategies/jwt.strategy.js';
import { PersonalTokenStrategy } from './strategies/personal-token.strategy.js';
import { SessionStrategy } from './strategies/session.strategy.js';
import { PersonalToken } from './tokens/personal-token.entity.js';
import { PersonalTokensController } from './tokens/personal-tokens.controller.js';
import { PersonalTokensService } from './tokens/personal-tokens.service.js';

@Module({
  imports: [
    UsersModule,
    RateLimitModule,
    TypeOrmModule.forFeature([
      RevokedAccessToken,
      TokenCutoff,
      RefreshToken,
      Session,
      PersonalToken,
      AccountToken,
      SignInOrigin,
      TotpFactor,
      RecoveryCode,
      MfaChallenge,
      Passkey,
      WebAuthnChallenge,
    ]),
  ],
  controllers: [
    AuthController,
    AccountController,
    SessionsController,
    PersonalTokensController,
    CredentialsController,
    UserCredentialsController,
    JwksController,
    MfaController,
    UserMfaController,
    PasskeysController,
  ],
  providers: [
    AuthService,
    AccountService,
    AccountTokens,
    PasswordResetService,
    SignInPolicy,
    CredentialLifecycleListener,
    CredentialInventory,
    AuthCredentialSources,
    RefreshTokensRepository,
    SessionsRepository,
    PersonalTokensRepository,
    CredentialStrategies,
    SigningKeysService,
    AccessTokensService,
    RevocationService,
    RefreshTokensService,
    SessionsService,
    CsrfService,
    PersonalTokensService,
    LockoutService,
    SecretBox,
    MfaRepository,
    MfaService,
    MfaSignInService,
    MfaNoticesListener,
    StepUpService,
    PasskeysRepository,
    PasskeysService,
    SessionSignIn,
    JwtStrategy,
    PersonalTokenStrategy,
    SessionStrategy,
    CredentialGuard,
  ],
  // CredentialGuard: the app module installs it as the global guard (the pipeline is listed there).
  exports: [
    AuthService,
    RevocationService,
    SigningKeysService,
    CredentialStrategies,
    CredentialInventory,
    CredentialGuard,
    MfaSignInService,
  ],
})
export class AuthModule {}
