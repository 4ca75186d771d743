import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { AppConfig } from '../../config/app-config.js';

/** Security scheme names, one per credential type of docs/contract.md. */
export const SECURITY_SCHEMES = {
  jwt: 'jwt',
  oauth2: 'oauth2',
  personalToken: 'personalToken',
  session: 'session',
  apiKey: 'apiKey',
  dpop: 'dpop',
} as const;

export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Secure API')
    .setDescription('The reference secure API server for NestJS. Errors are RFC 9457 problem+json.')
    .setVersion('1')
    .addServer(config.app.publicUrl)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'JWT access token from /api/v1/auth/login' },
      SECURITY_SCHEMES.jwt,
    )
    .addOAuth2(
      {
        type: 'oauth2',
        description: 'OAuth 2.0 access token issued under /oauth',
        flows: {
          authorizationCode: {
            authorizationUrl: `${config.app.publicUrl}/oauth/auth`,
            tokenUrl: `${config.app.publicUrl}/oauth/token`,
            scopes: {},
          },
          clientCredentials: { tokenUrl: `${config.app.publicUrl}/oauth/token`, scopes: {} },
        },
      },
      SECURITY_SCHEMES.oauth2,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Personal token: `Token <token>`' },
      SECURITY_SCHEMES.personalToken,
    )
    .addCookieAuth(
      'sid',
      { type: 'apiKey', in: 'cookie', name: 'sid', description: 'Session cookie; unsafe methods need X-CSRF-Token' },
      SECURITY_SCHEMES.session,
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key `<prefix>.<secret>`' },
      SECURITY_SCHEMES.apiKey,
    )
    .addSecurity(SECURITY_SCHEMES.dpop, {
      type: 'http',
      scheme: 'DPoP',
      description:
        'DPoP-bound OAuth 2.0 access token (RFC 9449): `Authorization: DPoP <token>` and a `DPoP: <proof>` ' +
        'header, a fresh proof for this method and URL signed by the key the token is bound to. ' +
        'A bound token sent as `Bearer` is refused (401).',
    });
  return SwaggerModule.createDocument(app, builder.build());
}

export function mountOpenApi(app: INestApplication, config: AppConfig): void {
  const document = buildOpenApiDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    customSiteTitle: 'Secure API docs',
  });
}
