import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { AppConfig } from '../../config/app-config.js';

const API_CSP = { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] };
// Swagger UI's page alone runs its own scripts and styles.
const DOCS_CSP = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** helmet with the API's strict CSP; HSTS only when the public URL is https. */
export function securityHeaders(config: AppConfig): RequestHandler {
  const common = {
    referrerPolicy: { policy: 'no-referrer' as const },
    strictTransportSecurity: config.app.publicUrl.startsWith('https://')
      ? { maxAge: 31_536_000, includeSubDomains: true }
      : false,
    crossOriginEmbedderPolicy: true,
    frameguard: { action: 'deny' as const },
  };
  const api = helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: API_CSP } });
  const docs = helmet({ ...common, contentSecurityPolicy: { useDefaults: false, directives: DOCS_CSP } });
  return (req, res, next) => {
    // Everything an API returns may carry a credential; caching is opt-in per route.
    res.setHeader('Cache-Control', 'no-store');
    const isDocsPage = req.path === '/docs' || (req.path.startsWith('/docs/') && !req.path.endsWith('.json'));
    return (isDocsPage ? docs : api)(req, res, next);
  };
}
