import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { limitExpressRoutes, type AddressLimitsOf } from '../rate-limit/limit-express-routes.js';
import { OAuthInteractions } from './interactions/oauth-interactions.js';
import { checkOAuthParameters } from './oauth-parameters.js';
import { OAuthProviderService } from './oauth-provider.service.js';

/**
 * The issuer is PUBLIC_URL, so its metadata lives at the root: RFC 8414's name and OpenID
 * Connect Discovery's, both answered by the provider's own discovery document. Nothing is
 * served under /oauth/.well-known: a document there would derive the issuer `.../oauth`
 * and name another (RFC 8414 section 3.3).
 */
const DISCOVERY_DOCUMENTS = new Set(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);
const PROVIDER_DISCOVERY = '/oauth/.well-known/openid-configuration';
const rewritten = new WeakSet<Request>();
/** The sign-in form's POST: a password checked (argon2) per request. */
const SIGN_IN = /^\/interaction\/[^/]+\/login\/?$/;

/**
 * The token endpoint and the sign-in form each cost a credential check (a client secret, a
 * code, a password), so they also count against the stricter `auth` limit per address, as
 * the API's sign-in does; every other OAuth request against the address's anonymous one.
 */
const oauthLimits: AddressLimitsOf = (req) =>
  req.method === 'POST' && (req.path === '/token' || SIGN_IN.test(req.path)) ? ['anonymous', 'auth'] : ['anonymous'];

/**
 * Mounts the authorization server on Express. Must run before `app.init()`: oidc-provider
 * reads raw bodies itself (its token endpoint takes form bodies only), so it has to see
 * requests before Nest's body parsing and routes do.
 */
export function mountOAuth(app: NestExpressApplication): void {
  const provider = app.get(OAuthProviderService);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if ((req.method === 'GET' || req.method === 'HEAD') && DISCOVERY_DOCUMENTS.has(req.path)) {
      req.url = PROVIDER_DISCOVERY;
      rewritten.add(req);
    }
    next();
  });
  limitExpressRoutes(app, '/oauth', oauthLimits);
  app.use('/oauth/interaction', app.get(OAuthInteractions).router());
  const handle = checkOAuthParameters(provider.middleware());
  app.use('/oauth', (req: Request, res: Response, next: NextFunction) => {
    // The provider's own discovery route, asked for directly, falls through to the API's 404.
    if (req.path.startsWith('/.well-known/') && !rewritten.has(req)) next();
    else handle(req, res, next);
  });
}
