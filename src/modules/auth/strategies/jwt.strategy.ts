import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import type { JwtHeader } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { Principal } from '../../../common/auth/principal.js';
import { CredentialStrategies } from '../credential-strategies.js';
import { AccessTokensService, InvalidAccessTokenError } from '../jwt/access-tokens.service.js';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/** First-party access tokens (`Authorization: Bearer <jwt>`), verified by passport-jwt. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    private readonly tokens: AccessTokensService,
    strategies: CredentialStrategies,
  ) {
    const options = tokens.verifyOptions;
    super({
      jwtFromRequest: bearerToken,
      secretOrKeyProvider: (_request, rawToken: string, done) => {
        const key = tokens.keyFor(rawToken);
        // jsonwebtoken takes a KeyObject (no PEM parse per request); the typings say Buffer.
        if (key) done(null, key.publicKey as unknown as Buffer);
        else done(new Error('unknown signing key'));
      },
      // passport-jwt passes these to jsonwebtoken.verify; it overrides the first three with
      // its own top-level options, so they are given there as well.
      algorithms: options.algorithms,
      issuer: options.issuer,
      audience: options.audience,
      jsonWebTokenOptions: options,
      passReqToCallback: true,
    });
    strategies.register('jwt', this);
  }

  /** A token already verified (and not expired) skips the signature check; revocation never does. */
  override authenticate(request: Request, options?: object): void {
    const token = bearerToken(request);
    const { verified, revoked } = token ? this.tokens.recall(token) : { verified: undefined, revoked: false };
    if (revoked) return this.fail(new Error('revoked'), 401);
    if (verified) return this.success(verified.principal);
    super.authenticate(request, options);
  }

  validate(request: Request, decoded: { header: JwtHeader; payload: unknown }): Principal | false {
    try {
      const claims = this.tokens.checkVerified(decoded.header, decoded.payload);
      return this.tokens.remember(bearerToken(request) as string, claims);
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) return false;
      throw error;
    }
  }
}
