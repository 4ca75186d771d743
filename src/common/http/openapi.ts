import type { INestApplication } from '@nestjs/common';
import {
  ApiSecurity,
  DocumentBuilder,
  SwaggerModule,
  type HeadersObject,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  type SchemaObject,
  type ServerObject,
} from '@nestjs/swagger';
import type { AppConfig } from '../../config/app-config.js';
import { PERMISSION_WORDS, PERMISSIONS, type Permission } from '../auth/permission.js';

/** Security scheme names, one per credential type of docs/contract.md. */
export const SECURITY_SCHEMES = {
  jwt: 'jwt',
  oauth2: 'oauth2',
  personalToken: 'personalToken',
  session: 'session',
  apiKey: 'apiKey',
  dpop: 'dpop',
} as const;

type SecurityScheme = (typeof SECURITY_SCHEMES)[keyof typeof SECURITY_SCHEMES];

/** Where Swagger UI's OAuth popup lands; a client used from /docs registers this redirect URI. */
export function docsRedirectUri(config: AppConfig): string {
  return `${config.app.publicUrl}/docs/oauth2-redirect.html`;
}

/**
 * The OpenAPI half of `@Authenticated`: every credential type is accepted, and an OAuth
 * token needs the route's permission among its scopes (OpenAPI 3.0 allows scopes on oauth2
 * requirements only).
 */
export function documentCredentials(permission: Permission | undefined): MethodDecorator & ClassDecorator {
  const decorators = Object.values(SECURITY_SCHEMES).map((scheme: SecurityScheme) =>
    ApiSecurity(scheme, scheme === SECURITY_SCHEMES.oauth2 && permission ? [permission] : []),
  );
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    for (const decorate of decorators) {
      if (descriptor) (decorate as MethodDecorator)(target, key as string | symbol, descriptor);
      else (decorate as ClassDecorator)(target as () => void);
    }
  };
}

const PROBLEM_JSON = 'application/problem+json';
const PROBLEM_REF = { $ref: '#/components/schemas/ProblemDetails' };

/** RFC 9457 problem details, as `ProblemDetailsFilter` renders every error. */
const PROBLEM_SCHEMAS: Record<string, SchemaObject> = {
  FieldError: {
    type: 'object',
    required: ['field', 'message'],
    properties: {
      field: { type: 'string', maxLength: 200, description: 'Dotted path of the input, e.g. `items.0.name`' },
      message: { type: 'string', maxLength: 500 },
    },
  },
  ProblemDetails: {
    type: 'object',
    required: ['type', 'title', 'status', 'instance', 'requestId'],
    properties: {
      type: {
        type: 'string',
        maxLength: 100,
        description: 'Stable code, `urn:problem:<code>`: branch on it, not on the wording',
        example: 'urn:problem:validation-failed',
      },
      title: { type: 'string', maxLength: 200 },
      status: { type: 'integer', format: 'int32', minimum: 400, maximum: 599 },
      detail: { type: 'string', maxLength: 2000 },
      instance: { type: 'string', maxLength: 2000, description: 'The request path' },
      requestId: { type: 'string', maxLength: 128, description: 'Also in the `X-Request-Id` header and the log' },
      traceId: { type: 'string', maxLength: 32, description: 'W3C trace id, when tracing is on' },
      errors: { type: 'array', maxItems: 100, items: { $ref: '#/components/schemas/FieldError' } },
    },
  },
};

/** Seconds and counts in headers: whole numbers, bounded by the longest window (a day) and the largest limit. */
const count = (description: string, maximum: number) => ({
  description,
  schema: { type: 'integer' as const, format: 'int32', minimum: 0, maximum },
});

/** What the rate limiter sets on every answer of a limited route (IETF draft RateLimit fields). */
const RATE_LIMIT_HEADERS: HeadersObject = {
  'RateLimit-Limit': count('Requests allowed in the window', 1_000_000),
  'RateLimit-Remaining': count('Requests left in the window', 1_000_000),
  'RateLimit-Reset': count('Seconds until the window resets', 86_400),
  'RateLimit-Policy': {
    description: 'The limit, its window and its name: `60;w=60;name="user"`',
    schema: { type: 'string', maxLength: 200 },
  },
};

/** Answers any operation can give, added where a controller did not describe them itself. */
const COMMON_ERRORS: Record<string, ResponseObject> = {
  '400': { description: 'Malformed or invalid request; `errors` names each offending field' },
  '429': {
    description: 'Rate limit reached',
    headers: { 'Retry-After': count('Seconds to wait before trying again', 86_400) },
  },
  default: { description: 'Server-side failure (5xx): the database is away (503 with `Retry-After`) or a fault' },
};

/**
 * Liveness is the one route without a rate limit (`@SkipRateLimit()`), so the only operation
 * documented without 429 and RateLimit headers; another such route goes here too.
 */
const UNLIMITED_OPERATIONS = new Set(['getLiveness']);

/**
 * Turns what the decorators describe into a contract a client generator can rely on: every
 * error is problem+json, every operation documents 400, 429 and 5xx, and every header has a
 * schema. Done here once instead of on each of the controllers' handlers.
 */
function completeOperation(operation: OperationObject): void {
  const responses = operation.responses as Record<string, ResponseObject | { $ref: string }>;
  const limited = !UNLIMITED_OPERATIONS.has(operation.operationId ?? '');
  for (const [status, common] of Object.entries(COMMON_ERRORS)) {
    if (status !== '429' || limited) responses[status] ??= structuredClone(common);
  }
  for (const [status, response] of Object.entries(responses)) {
    if ('$ref' in response) continue;
    if (status === 'default' || Number(status) >= 400) response.content = { [PROBLEM_JSON]: { schema: PROBLEM_REF } };
    if (limited && /^[24]/.test(status)) response.headers = { ...RATE_LIMIT_HEADERS, ...response.headers };
    for (const header of Object.values(response.headers ?? {})) {
      if (!('$ref' in header)) header.schema ??= { type: 'string' };
    }
  }
  // A class-level @Authenticated and a handler's own both list the schemes; the handler's (last) wins.
  if (operation.security) {
    const nearest = new Map(operation.security.flatMap((requirement) => Object.entries(requirement)));
    operation.security = [...nearest].map(([scheme, scopes]) => ({ [scheme]: scopes }));
  }
}

/** `list` + `ResourcesController` → `listResources`, for routes without an explicit operationId. */
function operationId(controllerKey: string, methodKey: string): string {
  return `${methodKey}${controllerKey.replace(/Controller$/, '')}`;
}

export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const tokenUrl = `${config.app.publicUrl}/oauth/token`;
  const scopes = Object.fromEntries(PERMISSIONS.map((permission) => [permission, PERMISSION_WORDS[permission]]));
  const builder = new DocumentBuilder()
    .setTitle('Secure API')
    .setDescription('The reference secure API server for NestJS. Errors are RFC 9457 problem+json.')
    .setVersion('1')
    .setLicense('MIT', 'https://opensource.org/license/mit')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'JWT access token from /api/v1/auth/login (RFC 9068, ES256 only, issuer, audience and `typ` checked, ' +
          'as RFC8725 advises)',
      },
      SECURITY_SCHEMES.jwt,
    )
    .addOAuth2(
      {
        type: 'oauth2',
        description:
          'OAuth 2.0 access token issued under /oauth (opaque, short-lived; refresh tokens rotate; RFC8725 for ' +
          'the signed responses). The code flow needs PKCE (S256); from /docs, register a ' +
          `public client whose redirect URI is ${docsRedirectUri(config)}.`,
        flows: {
          authorizationCode: {
            authorizationUrl: `${config.app.publicUrl}/oauth/auth`,
            tokenUrl,
            refreshUrl: tokenUrl,
            scopes,
          },
          clientCredentials: { tokenUrl, scopes },
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
      {
        type: 'apiKey',
        in: 'cookie',
        name: 'sid',
        description:
          'Session cookie from POST /api/v1/auth/session; unsafe methods need X-CSRF-Token. A browser (and so ' +
          'Swagger UI) sends it by itself once set: do not authorize another scheme besides, or the request ' +
          'carries two credentials and is refused (400).',
      },
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
  const document = SwaggerModule.createDocument(app, builder.build(), { operationIdFactory: operationId });
  // The one server, marked public for the API inventory (OWASP API9).
  document.servers = [{ url: config.app.publicUrl, 'x-internal': false } as ServerObject];
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...PROBLEM_SCHEMAS } };
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const operation = item[method];
      if (operation) completeOperation(operation);
    }
  }
  return document;
}

export function mountOpenApi(app: INestApplication, config: AppConfig): void {
  const document = buildOpenApiDocument(app, config);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    customSiteTitle: 'Secure API docs',
    swaggerOptions: {
      // Authorizations survive a reload of the page (kept in the browser's localStorage).
      persistAuthorization: true,
      oauth2RedirectUrl: docsRedirectUri(config),
      // Every client of this server must use PKCE; Swagger UI makes the verifier in the browser.
      initOAuth: { usePkceWithAuthorizationCodeGrant: true },
    },
  });
}
