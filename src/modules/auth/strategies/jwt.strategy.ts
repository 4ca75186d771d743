import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { JwtHeader } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { Principal } from '../../../common/auth/principal.js';
import { CredentialStrategies } from '../credential-strategies.js';
import { AccessTokensService, InvalidAccessTokenError } from '../jwt/access-tokens.service.js';

/** First-party access tokens (`Authorization: Bearer <jwt>`), verified by passport-jwt. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    private readonly tokens: AccessTokensService,
    strategies: CredentialStrategies,
  ) {
    const options = tokens.verifyOptions;
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
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
    });
    strategies.register('jwt', this);
  }

  validate(decoded: { header: JwtHeader; payload: unknown }): Principal | false {
    try {
      return this.tokens.toPrincipal(this.tokens.checkVerified(decoded.header, decoded.payload));
    } catch (error) {
      if (error instanceof InvalidAccessTokenError) return false;
      throw error;
    }
  }
}
