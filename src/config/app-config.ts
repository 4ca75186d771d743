import { readFileSync } from 'node:fs';
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
    /** Worker processes (node:cluster); 1: this process serves alone. */
    workers: number;
    shutdownGraceSeconds: number;
    keepAliveTimeoutMs: number;
    headersTimeoutMs: number;
  };
  readonly db: {
    /** Unset: the embedded PGlite database under `dataDir`. */
    url: string | undefined;
    /** The owner role's URL for migrations; undefined: `url`'s role owns the schema too. */
    migrationUrl: string | undefined;
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
    /**
     * How long a retired signing key verifies: the longer access-token lifetime (ours or the
     * OAuth server's, which ID tokens share) and a minute of leeway. keys:rotate drops such
     * keys from the file; every instance stops trusting them at once, rotation or not.
     */
    retiredKeyVerifySeconds: number;
    /** Live credentials one user may hold of each kind; past that, 409 credential-limit. */
    maxApiKeysPerUser: number;
    maxPersonalTokensPerUser: number;
    /** Live cookie sessions, and live JWT sign-ins (refresh families), one user may hold of each; a new one ends the oldest. */
    maxSignInsPerUser: number;
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
    /** The Standard Webhooks secret that signs every delivery; set whenever webhookUrl is. */
    webhookSecret: string | undefined;
  };
  readonly audit: {
    /** 0: a checkpoint at shutdown only. */
    checkpointIntervalSeconds: number;
    /** undefined: no OCSF stream; 'log': to the log; else the file it is appended to. */
    ocsf: string | undefined;
    /** Events the writer holds before it sheds routine ones (counted into a marker). */
    bufferCapacity: number;
  };
  readonly retention: {
    /** 0: no schedule (run `npm run cli -- tokens:purge` from cron instead). */
    intervalSeconds: number;
    /** Undefined: audit events are kept forever. */
    auditSeconds: number | undefined;
    /** How long a key's address bucket is kept after it was last seen. */
    apiKeyAddressSeconds: number;
  };
  readonly mail: {
    verification: Env['EMAIL_VERIFICATION'];
    /** Undefined: development mail, to the log and `dataDir/mail` (production refuses it). */
    smtpUrl: string | undefined;
    from: string;
    /** Mails a request may cause to one address: what stops mail bombing through forgot and resend. */
    perRecipient: Rate;
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
      workers: env.WEB_CONCURRENCY,
      shutdownGraceSeconds: env.SHUTDOWN_GRACE,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT * 1000,
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT * 1000,
    };
    this.db = {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL,
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
      retiredKeyVerifySeconds: Math.max(env.JWT_ACCESS_TTL, env.OAUTH_ACCESS_TTL) + 60,
      maxApiKeysPerUser: env.MAX_API_KEYS_PER_USER,
      maxPersonalTokensPerUser: env.MAX_PERSONAL_TOKENS_PER_USER,
      maxSignInsPerUser: env.MAX_SIGN_INS_PER_USER,
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
      webhookSecret: env.ALERT_WEBHOOK_SECRET,
    };
    this.audit = {
      checkpointIntervalSeconds: env.AUDIT_CHECKPOINT_INTERVAL,
      ocsf: env.AUDIT_OCSF,
      bufferCapacity: env.AUDIT_BUFFER_CAPACITY,
    };
    this.retention = {
      intervalSeconds: env.RETENTION_INTERVAL,
      auditSeconds: env.AUDIT_RETENTION,
      apiKeyAddressSeconds: env.API_KEY_ADDRESS_RETENTION,
    };
    this.mail = {
      verification: env.EMAIL_VERIFICATION,
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      perRecipient: env.RATE_LIMIT_MAIL,
    };
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
  if (!env.SMTP_URL) {
    problems.push('SMTP_URL: required in production (without it, mail only goes to the log and DATA_DIR/mail)');
  }
  if (env.ENABLE_BENCH_ROUTES) problems.push('ENABLE_BENCH_ROUTES: not allowed in production');
  if (!env.RATE_LIMITS_ENABLED) problems.push('RATE_LIMITS_ENABLED: "false" is not allowed in production');
  return problems;
}

/** Variables that make sense only together, in every environment. */
function pairingProblems(env: Env): string[] {
  const problems: string[] = [];
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET) {
    problems.push('ALERT_WEBHOOK_SECRET: required with ALERT_WEBHOOK_URL (every delivery is signed; whsec_ + base64)');
  }
  if (env.DATABASE_MIGRATION_URL && !env.DATABASE_URL) {
    problems.push('DATABASE_MIGRATION_URL: needs DATABASE_URL (the embedded database has one role)');
  }
  return [...problems, ...workerProblems(env)];
}

/**
 * Workers are instances that happen to share a host, so they need what separate instances
 * need: one database (the embedded one belongs to one process), Redis (without it each worker
 * would count rate limits alone, multiplying every limit, and hear another's revocations only
 * at REVOCATION_SYNC_INTERVAL), and the same secrets (generated in memory, each worker's would
 * differ and it would refuse the others' tokens).
 */
function workerProblems(env: Env): string[] {
  if (env.WEB_CONCURRENCY === 1) return [];
  const problems: string[] = [];
  if (!env.DATABASE_URL) {
    problems.push(
      'WEB_CONCURRENCY: more than one worker needs DATABASE_URL (the embedded database serves one process)',
    );
  }
  if (!env.REDIS_URL) {
    problems.push('WEB_CONCURRENCY: more than one worker needs REDIS_URL (shared rate limits and instant revocation)');
  }
  if (env.DATA_DIR === IN_MEMORY) {
    const missing = [
      ...(env.JWT_KEYS || env.JWT_KEYS_FILE ? [] : ['JWT_KEYS']),
      ...(['CSRF_SECRET', 'MFA_ENCRYPTION_KEY', 'API_KEY_PEPPER'] as const).filter((name) => !env[name]),
      ...(env.OAUTH_COOKIE_KEYS?.length ? [] : ['OAUTH_COOKIE_KEYS']),
    ];
    if (missing.length > 0) {
      problems.push(
        `WEB_CONCURRENCY: with DATA_DIR=:memory: each worker would generate its own ${missing.join(', ')}; set them or a DATA_DIR`,
      );
    }
  }
  return problems;
}

/**
 * Secrets that may come from a file instead, as `<NAME>_FILE` (the convention of the official
 * Postgres image): Docker and Kubernetes mount secrets as files, and a value in the environment
 * leaks through `docker inspect`, /proc/<pid>/environ and crash reports. JWT_KEYS has its own
 * JWT_KEYS_FILE (a key file `keys:rotate` writes), so it is not in this list.
 */
export const FILE_SECRETS = [
  'DATABASE_URL',
  'REDIS_URL',
  'CSRF_SECRET',
  'API_KEY_PEPPER',
  'OAUTH_COOKIE_KEYS',
  'METRICS_TOKEN',
  'ALERT_WEBHOOK_URL',
  'ALERT_WEBHOOK_SECRET',
  'DATABASE_MIGRATION_URL',
] as const satisfies readonly (keyof Env)[];

/** The environment with each `<NAME>_FILE` of FILE_SECRETS read into `<NAME>` (one trailing newline dropped). */
function withSecretFiles(source: Record<string, string>): { env: Record<string, string>; problems: string[] } {
  const env = { ...source };
  const problems: string[] = [];
  for (const name of FILE_SECRETS) {
    const file = source[`${name}_FILE`];
    delete env[`${name}_FILE`];
    if (file === undefined) continue;
    if (source[name] !== undefined) {
      problems.push(`${name}_FILE: ${name} is set too; give one of them`);
      continue;
    }
    try {
      env[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      // The path, never the content: the error names what to fix without leaking the secret.
      problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { env, problems };
}

/** Validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const given = Object.fromEntries(
    Object.entries(source).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (entry[1] !== '' || EMPTY_IS_A_VALUE.has(entry[0])),
    ),
  );
  const { env: withoutEmpty, problems: fileProblems } = withSecretFiles(given);
  if (fileProblems.length > 0) throw new ConfigError(fileProblems);
  const parsed = envSchema.safeParse(withoutEmpty);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const problems = [...pairingProblems(parsed.data), ...productionProblems(parsed.data)];
  if (parsed.data.HTTP_HEADERS_TIMEOUT <= parsed.data.HTTP_KEEP_ALIVE_TIMEOUT) {
    problems.push('HTTP_HEADERS_TIMEOUT: must be longer than HTTP_KEEP_ALIVE_TIMEOUT');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return new AppConfig(parsed.data);
}
