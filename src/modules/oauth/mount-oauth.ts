import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { OAuthInteractions } from './interactions/oauth-interactions.js';
import { OAuthProviderService } from './oauth-provider.service.js';

/**
 * RFC 8414 metadata at the root (and its path-suffixed form for issuer `.../oauth`, which is
 * what RFC 8414 clients derive), plus the OpenID discovery names, all answered by the
 * provider's own discovery document.
 */
const DISCOVERY_ALIASES = new Set([
  '/.well-known/oauth-authorization-server',
  '/.well-known/oauth-authorization-server/oauth',
  '/.well-known/openid-configuration',
  '/.well-known/openid-configuration/oauth',
]);

/**
 * Mounts the authorization server on Express. Must run before `app.init()`: oidc-provider
 * reads raw bodies itself (its token endpoint takes form bodies only), so it has to see
 * requests before Nest's body parsing and routes do.
 */
export function mountOAuth(app: NestExpressApplication): void {
  const provider = app.get(OAuthProviderService);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && DISCOVERY_ALIASES.has(req.path)) {
      req.url = '/oauth/.well-known/oauth-authorization-server';
    }
    next();
  });
  app.use('/oauth/interaction', app.get(OAuthInteractions).router());
  app.use('/oauth', provider.middleware());
}
