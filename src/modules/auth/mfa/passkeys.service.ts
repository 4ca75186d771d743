import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { AUDIT_RECORD, type AuditRecord } from '../../../common/audit/audit-record.js';
import type { Principal } from '../../../common/auth/principal.js';
import type { SignInProof } from '../../../common/auth/sign-in-proof.js';
import { NotFoundError, UnauthenticatedError } from '../../../common/errors/app-error.js';
import { AppConfig } from '../../../config/app-config.js';
import { UsersService, type Account } from '../../users/users.service.js';
import type { CredentialOrigin } from '../credentials/credential-origin.js';
import { InvalidCodeError, MfaConflictError } from './mfa.errors.js';
import { MFA_EVENTS, type MfaFactorEvent } from './mfa.events.js';
import { MfaService } from './mfa.service.js';
import type { Passkey } from './passkey.entities.js';
import { PasskeysRepository } from './passkeys.repository.js';

/** How long a ceremony's challenge lives. */
const CHALLENGE_TTL_MS = 5 * 60 * 1000;
const MAX_PASSKEYS_PER_USER = 20;

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  backedUp: boolean;
}

const view = (p: Passkey): PasskeyView => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
  backedUp: p.backedUp,
});

/** The challenge a browser signed, read from its clientDataJSON (the library checks it matches). */
function challengeOf(response: { response: { clientDataJSON: string } }): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown;
    };
    return typeof data.challenge === 'string' ? data.challenge : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Passkeys with @simplewebauthn/server: RP ID and origin from PUBLIC_URL, challenges stored
 * server-side and used once, user verification required (a passkey signs in by itself), the
 * signature counter moved forward by a conditional UPDATE, backup eligibility fixed.
 */
@Injectable()
export class PasskeysService {
  private readonly rpId: string;
  private readonly origin: string;

  constructor(
    private readonly config: AppConfig,
    private readonly passkeys: PasskeysRepository,
    private readonly users: UsersService,
    private readonly mfa: MfaService,
    private readonly events: EventEmitter2,
  ) {
    const url = new URL(config.app.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  list(userId: string): Promise<PasskeyView[]> {
    return this.passkeys.listOfUser(userId).then((all) => all.map(view));
  }

  async registrationOptions(caller: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const user = await this.users.findById(caller.userId);
    if (!user) throw new UnauthenticatedError();
    const existing = await this.passkeys.listOfUser(user.id);
    if (existing.length >= MAX_PASSKEYS_PER_USER)
      throw new MfaConflictError(`At most ${MAX_PASSKEYS_PER_USER} passkeys.`);
    const options = await generateRegistrationOptions({
      rpName: this.config.mfa.issuerLabel,
      rpID: this.rpId,
      userName: user.email,
      userDisplayName: user.displayName,
      userID: Buffer.from(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.passkeys.insertChallenge({
      challenge: options.challenge,
      purpose: 'registration',
      userId: user.id,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS),
    });
    return options;
  }

  async register(
    caller: Principal,
    body: { name?: string; response: RegistrationResponseJSON },
    origin: CredentialOrigin,
  ): Promise<PasskeyView> {
    const challenge = challengeOf(body.response);
    const claimed = challenge && (await this.passkeys.claimChallenge(challenge, 'registration'));
    if (!challenge || !claimed || claimed.userId !== caller.userId) throw this.refused('registration', caller.userId);
    const verified = await verifyRegistrationResponse({
      response: body.response,
      expectedChallenge: challenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      requireUserVerification: true,
    }).catch(() => ({ verified: false as const }));
    if (!verified.verified) throw this.refused('registration', caller.userId);
    const info = verified.registrationInfo;
    const passkey = await this.passkeys.insert({
      userId: caller.userId,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey),
      counter: String(info.credential.counter),
      transports: info.credential.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name: (body.name ?? 'Passkey').slice(0, 100),
      createdIp: origin.ip,
      createdUserAgent: origin.userAgent,
    });
    await this.audit({
      action: 'mfa.passkey.register',
      outcome: 'success',
      actorId: caller.userId,
      target: passkey.id,
      status: 201,
    });
    await this.announce(MFA_EVENTS.factorAdded, { userId: caller.userId, factor: 'passkey', actorId: caller.userId });
    return view(passkey);
  }

  async delete(caller: Principal, id: string): Promise<void> {
    if (!(await this.deleteOfUser(caller.userId, id))) throw new NotFoundError('No such passkey.');
  }

  /**
   * Deletes one of the user's passkeys (here, or through the credential inventory); false when
   * they hold none with this id. Refused for the last factor of a user whose role needs one.
   */
  async deleteOfUser(userId: string, id: string): Promise<boolean> {
    const user = await this.users.findById(userId);
    if (!user) throw new UnauthenticatedError();
    const passkeys = await this.passkeys.listOfUser(user.id);
    if (!passkeys.some((p) => p.id === id)) return false;
    const totp = (await this.mfa.status(user.id)).totp;
    if (passkeys.length <= 1 && totp !== 'active' && this.mfa.mustHaveSecondFactor(user.roles)) {
      throw new MfaConflictError('Your role requires a second factor: add another before removing this one.');
    }
    if (!(await this.passkeys.deleteOfUser(user.id, id))) return false;
    await this.audit({ action: 'mfa.passkey.delete', outcome: 'success', actorId: user.id, target: id, status: 204 });
    await this.announce(MFA_EVENTS.factorRemoved, { userId: user.id, factor: 'passkey', actorId: user.id });
    return true;
  }

  /** Request options for a passkey sign-in: discoverable credentials, so no email is needed or used. */
  async authenticationOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({ rpID: this.rpId, userVerification: 'required' });
    await this.passkeys.insertChallenge({
      challenge: options.challenge,
      purpose: 'authentication',
      userId: null,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS),
    });
    return options;
  }

  /** Verifies an assertion; the account it signs in and how (RFC 8176: hwk or swk, and mfa). */
  async authenticate(response: AuthenticationResponseJSON): Promise<{ account: Account; proof: SignInProof }> {
    const passkey = typeof response.id === 'string' ? await this.passkeys.findByCredentialId(response.id) : null;
    const challenge = challengeOf(response);
    if (!passkey || !challenge || !(await this.passkeys.claimChallenge(challenge, 'authentication'))) {
      throw this.refused('authentication', passkey?.userId);
    }
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: this.origin,
      expectedRPID: this.rpId,
      requireUserVerification: true,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(passkey.publicKey),
        counter: Number(passkey.counter),
        transports: passkey.transports as AuthenticatorTransport[],
      },
    }).catch(() => undefined);
    const info = verified?.verified ? verified.authenticationInfo : undefined;
    // Backup eligibility never changes for a credential: another value means another authenticator.
    if (!info || info.credentialDeviceType !== passkey.deviceType) throw this.refused('authentication', passkey.userId);
    if (!(await this.passkeys.recordUse(passkey.id, passkey.counter, info.newCounter, info.credentialBackedUp))) {
      throw this.refused('authentication', passkey.userId);
    }
    const account = await this.users.findById(passkey.userId);
    if (!account?.isActive) throw this.refused('authentication', passkey.userId);
    await this.audit({
      action: 'auth.passkey',
      outcome: 'success',
      actorId: account.id,
      target: passkey.id,
      status: 200,
    });
    return {
      account,
      proof: {
        authTime: Math.floor(Date.now() / 1000),
        amr: [passkey.deviceType === 'multiDevice' ? 'swk' : 'hwk', 'mfa'],
      },
    };
  }

  private refused(ceremony: 'registration' | 'authentication', userId: string | undefined): Error {
    void this.audit({
      action: `mfa.passkey.${ceremony}`,
      outcome: 'failure',
      security: true,
      target: userId ?? null,
      status: ceremony === 'registration' ? 400 : 401,
    });
    return ceremony === 'registration'
      ? new InvalidCodeError('The passkey response does not check out (or its challenge was used or expired).')
      : new UnauthenticatedError('The passkey assertion does not check out.');
  }

  /** Awaited, so the request answers only once the user's notice is in the outbox. */
  private async announce(name: string, event: MfaFactorEvent): Promise<void> {
    await this.events.emitAsync(name, event);
  }

  private async audit(record: AuditRecord): Promise<void> {
    await this.events.emitAsync(AUDIT_RECORD, record);
  }
}
