import { join, resolve } from 'node:path';
import { isRole, type Role } from '../common/auth/roles.js';
import { envSchema, type Env } from './env.schema.js';

/** The contract's five minutes for finishing a sign-in with its second factor. */
const MFA_CHALLENGE_TTL_SECONDS = 300;

/** Variables where an empty value means "none" rather than "unset, take the default". */
const EMPTY_IS_A_VALUE = new Set(['MFA_REQUIRED_ROLES']);

/** DATA_DIR=:memory: keeps development state in memory (used by tests). */
const IN_MEMORY = ':memory:';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** So many requests per window. */
export interface Rate {
  limit: number;
  windowSeconds: number;
}

/** `trust proxy` for Express: off, a hop count, or the addresses/subnets of trusted proxies. */
export type TrustProxy = false | number | string[];

/**
 * The validated configuration, one typed namespace per concern. Built once at boot from the
 * environment and injected wherever it is needed; nothing else reads process.env.
 */
export class AppConfig {
  readonly app: {
    env: Env['NODE_ENV'];
    isProduction: boolean;
    host: string;
    port: number;
    publicUrl: string;
    /** Where development state lives (embedded database, generated keys); undefined: memory only. */
    dataDir: string | undefined;
    enableBenchRoutes: boolean;
    shutdownGraceSeconds: number;
  };
  readonly db: {
    /** Unset: the embedded PGlite database under `dataDir`. */
    url: string | undefined;
    migrationsRun: boolean;
    poolSize: number;
    /** Opening a connection, or waiting for one from the pool. */
    connectTimeoutMs: number;
    /** One statement; 0: no limit. */
    queryTimeoutMs: number;
  };
  readonly redis: { url: string | undefined; keyPrefix: string };
  readonly http: {
    trustProxy: TrustProxy;
    corsOrigins: string[];
    /** Bytes. */
    bodyLimit: number;
  };
  readonly auth: {
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /** Private signing keys as a JWKS JSON text, when given inline. */
    keysJson: string | undefined;
    /** Where the signing keys live; undefined with DATA_DIR=:memory: and no JWT_KEYS_FILE. */
    keysFile: string | undefined;
    /** Generate missing keys and secrets (development), or refuse to start (production). */
    generateMissingSecrets: boolean;
    sessionIdleSeconds: number;
    sessionAbsoluteSeconds: number;
    csrfSecret: string | undefined;
    secureCookies: boolean;
    /** How often each instance replays the revocation log (a lost broadcast is caught up by then). */
    revocationSyncSeconds: number;
    /** How long a user's cut-off must be kept: the longest life of any token or grant it can kill. */
    revocationHorizonSeconds: number;
    /** Live credentials one user may hold of each kind; past that, 409 credential-limit. */
    maxApiKeysPerUser: number;
    maxPersonalTokensPerUser: number;
  };
  readonly oauth: {
    /**
     * PUBLIC_URL itself (its endpoints live under /oauth): pinned, never derived from a
     * request's Host, and the URL clients discover metadata from (RFC 8414 section 3).
     */
    issuer: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    codeTtlSeconds: number;
    /** Undefined: generated into DATA_DIR (development only). */
    cookieKeys: string[] | undefined;
  };
  readonly mfa: {
    /** Undefined: generated into DATA_DIR (development only). */
    encryptionKey: string | undefined;
    /** Holders of these roles must enrol a second factor first. */
    requiredRoles: Role[];
    /** How old a sign-in may be on the sensitive routes. */
    reauthMaxAgeSeconds: number;
    /** How long an mfaToken (the sign-in waiting for its second factor) lives. */
    challengeTtlSeconds: number;
    /** The label authenticator apps show: PUBLIC_URL's host. */
    issuerLabel: string;
  };
  readonly apiKeys: { pepper: string | undefined; defaultRateLimitPerMinute: number };
  readonly rateLimits: { enabled: boolean; anonymous: Rate; user: Rate; auth: Rate };
  readonly lockout: { maxFailuresPerAccount: number; maxFailuresPerAddress: number; windowSeconds: number };
  readonly alerts: {
    windowSeconds: number;
    loginFailuresPerAddress: number;
    loginFailuresPerAccount: number;
    deniedPerAddress: number;
    /** Unset: no webhook. */
    webhookUrl: string | undefined;
    webhookTimeoutMs: number;
  };
  readonly retention: {
    /** 0: no schedule (run `npm run cli -- tokens:purge` from cron instead). */
    intervalSeconds: number;
    /** Undefined: audit events are kept forever. */
    auditSeconds: number | undefined;
  };
  readonly log: { level: Env['LOG_LEVEL'] };
  readonly metrics: { token: string | undefined };

  constructor(env: Env) {
    const isProduction = env.NODE_ENV === 'production';
    this.app = {
      env: env.NODE_ENV,
      isProduction,
      host: env.HOST,
      port: env.PORT,
      publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
      dataDir: env.DATA_DIR === IN_MEMORY ? undefined : resolve(env.DATA_DIR),
      enableBenchRoutes: env.ENABLE_BENCH_ROUTES,
      shutdownGraceSeconds: env.SHUTDOWN_GRACE,
    };
    this.db = {
      url: env.DATABASE_URL,
      migrationsRun: env.DB_MIGRATIONS_RUN,
      poolSize: env.DB_POOL_SIZE,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT * 1000,
      queryTimeoutMs: env.DB_QUERY_TIMEOUT * 1000,
    };
    this.redis = { url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX };
    this.http = {
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: env.CORS_ORIGINS,
      bodyLimit: env.BODY_LIMIT,
    };
    const dataDir = this.app.dataDir;
    this.auth = {
      issuer: this.app.publicUrl,
      audience: env.JWT_AUDIENCE ?? `${this.app.publicUrl}/api`,
      accessTtlSeconds: env.JWT_ACCESS_TTL,
      refreshTtlSeconds: env.JWT_REFRESH_TTL,
      keysJson: env.JWT_KEYS,
      keysFile: env.JWT_KEYS_FILE ? resolve(env.JWT_KEYS_FILE) : dataDir && join(dataDir, 'jwt-keys.json'),
      generateMissingSecrets: !isProduction || env.ALLOW_DEV_DEFAULTS,
      sessionIdleSeconds: env.SESSION_IDLE_TTL,
      sessionAbsoluteSeconds: env.SESSION_ABSOLUTE_TTL,
      csrfSecret: env.CSRF_SECRET,
      // Only what arrives over TLS may set a Secure cookie; production outside loopback is https.
      secureCookies: this.app.publicUrl.startsWith('https://'),
      revocationSyncSeconds: env.REVOCATION_SYNC_INTERVAL,
      revocationHorizonSeconds: Math.max(env.JWT_ACCESS_TTL, env.OAUTH_ACCESS_TTL, env.OAUTH_REFRESH_TTL),
      maxApiKeysPerUser: env.MAX_API_KEYS_PER_USER,
      maxPersonalTokensPerUser: env.MAX_PERSONAL_TOKENS_PER_USER,
    };
    this.oauth = {
      issuer: this.app.publicUrl,
      accessTtlSeconds: env.OAUTH_ACCESS_TTL,
      refreshTtlSeconds: env.OAUTH_REFRESH_TTL,
      codeTtlSeconds: env.OAUTH_CODE_TTL,
      cookieKeys: env.OAUTH_COOKIE_KEYS && env.OAUTH_COOKIE_KEYS.length > 0 ? env.OAUTH_COOKIE_KEYS : undefined,
    };
    this.mfa = {
      encryptionKey: env.MFA_ENCRYPTION_KEY,
      requiredRoles: env.MFA_REQUIRED_ROLES.filter(isRole),
      reauthMaxAgeSeconds: env.REAUTH_MAX_AGE,
      challengeTtlSeconds: MFA_CHALLENGE_TTL_SECONDS,
      issuerLabel: new URL(this.app.publicUrl).host,
    };
    this.apiKeys = { pepper: env.API_KEY_PEPPER, defaultRateLimitPerMinute: env.API_KEY_DEFAULT_RATE_LIMIT };
    this.rateLimits = {
      enabled: env.RATE_LIMITS_ENABLED,
      anonymous: env.RATE_LIMIT_ANON,
      user: env.RATE_LIMIT_USER,
      auth: env.RATE_LIMIT_AUTH,
    };
    this.lockout = {
      maxFailuresPerAccount: env.LOCKOUT_MAX_FAILURES,
      maxFailuresPerAddress: env.LOCKOUT_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: env.LOCKOUT_WINDOW,
    };
    this.alerts = {
      windowSeconds: env.ALERT_WINDOW,
      loginFailuresPerAddress: env.ALERT_LOGIN_FAILURES_PER_ADDRESS,
      loginFailuresPerAccount: env.ALERT_LOGIN_FAILURES_PER_ACCOUNT,
      deniedPerAddress: env.ALERT_DENIED_PER_ADDRESS,
      webhookUrl: env.ALERT_WEBHOOK_URL,
      webhookTimeoutMs: env.ALERT_WEBHOOK_TIMEOUT * 1000,
    };
    this.retention = { intervalSeconds: env.RETENTION_INTERVAL, auditSeconds: env.AUDIT_RETENTION };
    this.log = { level: env.LOG_LEVEL };
    this.metrics = { token: env.METRICS_TOKEN };
  }
}

function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim();
  if (value === '' || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Cookies, tokens and passwords cross the network in the clear on plain http, except on loopback. */
function isHttpsOrLoopback(publicUrl: string): boolean {
  const { protocol, hostname } = new URL(publicUrl);
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

/** Production refuses the conveniences that make development easy but are unsafe in the open. */
function productionProblems(env: Env): string[] {
  if (env.NODE_ENV !== 'production' || env.ALLOW_DEV_DEFAULTS) return [];
  const problems: string[] = [];
  if (!env.DATABASE_URL) {
    problems.push(
      'DATABASE_URL: required in production (the embedded database is for development; set ALLOW_DEV_DEFAULTS=true to use it anyway)',
    );
  }
  if (env.CORS_ORIGINS.includes('*')) {
    problems.push('CORS_ORIGINS: "*" is not allowed in production; list the origins');
  }
  if (env.TRUST_PROXY.trim() === 'true') {
    problems.push('TRUST_PROXY: "true" trusts any client; name the proxies or a hop count');
  }
  if (!env.PUBLIC_URL) problems.push('PUBLIC_URL: required in production');
  else if (!isHttpsOrLoopback(env.PUBLIC_URL)) {
    problems.push('PUBLIC_URL: must be https in production (plain http only on localhost, for a local trial)');
  }
  if (!env.JWT_KEYS && !env.JWT_KEYS_FILE) {
    problems.push('JWT_KEYS or JWT_KEYS_FILE: required in production (signing keys are generated only in development)');
  }
  if (!env.CSRF_SECRET) problems.push('CSRF_SECRET: required in production (at least 32 random characters)');
  if (!env.MFA_ENCRYPTION_KEY)
    problems.push('MFA_ENCRYPTION_KEY: required in production (at least 32 random characters)');
  if (!env.API_KEY_PEPPER) problems.push('API_KEY_PEPPER: required in production (at least 32 random characters)');
  if (!env.OAUTH_COOKIE_KEYS?.length) {
    problems.push('OAUTH_COOKIE_KEYS: required in production (at least 32 random characters each, comma-separated)');
  }
  if (env.ENABLE_BENCH_ROUTES) problems.push('ENABLE_BENCH_ROUTES: not allowed in production');
  if (!env.RATE_LIMITS_ENABLED) problems.push('RATE_LIMITS_ENABLED: "false" is not allowed in production');
  return problems;
}

/** Validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const withoutEmpty = Object.fromEntries(
    Object.entries(source).filter(([k, v]) => v !== undefined && (v !== '' || EMPTY_IS_A_VALUE.has(k))),
  );
  const parsed = envSchema.safeParse(withoutEmpty);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const problems = productionProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return new AppConfig(parsed.data);
}
