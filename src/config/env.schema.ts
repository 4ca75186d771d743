import { z } from 'zod';
import { ROLES } from '../common/auth/roles.js';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1_048_576 };

/** `100kb` is 100,000 bytes (SI), `64KiB` is 65,536. */
function parseByteSize(value: string): number {
  const [, amount = '0', unit = 'b'] = /^(\d+)\s*([a-z]*)$/i.exec(value.trim()) ?? [];
  return Number(amount) * (BYTE_UNITS[unit.toLowerCase()] ?? 1);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `5m`, `12h`, `14d` (or plain seconds) to seconds. */
const duration = z
  .string()
  .regex(/^\d+\s*[smhd]?$/, 'expected a duration such as 90s, 5m, 12h or 14d')
  .transform((v) => {
    const [, amount = '0', unit = 's'] = /^(\d+)\s*([smhd]?)$/.exec(v.trim()) ?? [];
    return Number(amount) * (DURATION_UNITS[unit || 's'] ?? 1);
  });

const RATE_PERIODS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hour: 3600,
  d: 86_400,
  day: 86_400,
};

/** DRF-style rates: `60/min`, `10/minute`, `1000/hour`, `5/s`. */
const rate = z
  .string()
  .regex(/^\d+\/(s|sec|second|m|min|minute|h|hour|d|day)$/, 'expected a rate such as 60/min or 1000/hour')
  .transform((v) => {
    const [count = '0', period = 'min'] = v.split('/');
    return { limit: Number(count), windowSeconds: RATE_PERIODS[period] ?? 60 };
  });

/** Every environment variable the server reads, with its default. README mirrors this table. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALLOW_DEV_DEFAULTS: booleanFlag.default(false),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** The owner role that runs migrations; unset: DATABASE_URL's role does (one role for both). */
  DATABASE_MIGRATION_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  DB_MIGRATIONS_RUN: booleanFlag.default(true),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** How long a request waits to open a connection, or for a free one in a full pool, before a 503. */
  DB_CONNECT_TIMEOUT: duration.refine((v) => v >= 1, 'must be at least 1s').default(5),
  /** How long one statement may run before it is canceled (a 503); 0: no limit. Migrations included. */
  DB_QUERY_TIMEOUT: duration.default(10),

  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prepended to every Redis key and channel, so deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z.string().max(64).default(''),

  TRUST_PROXY: z.string().default('false'),
  CORS_ORIGINS: commaList.default([]),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+\s*(b|kb|kib|mb|mib)?$/i, 'expected a size such as 100kb, 64KiB or 1mb')
    .transform(parseByteSize)
    .default(100_000),

  JWT_ACCESS_TTL: duration.default(300),
  JWT_REFRESH_TTL: duration.default(14 * 86_400),
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** A JWKS (`{"keys":[...]}`) of private signing keys, newest first. Wins over JWT_KEYS_FILE. */
  JWT_KEYS: z.string().min(1).optional(),
  JWT_KEYS_FILE: z.string().min(1).optional(),
  SESSION_IDLE_TTL: duration.default(30 * 60),
  SESSION_ABSOLUTE_TTL: duration.default(12 * 3600),
  CSRF_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  API_KEY_PEPPER: z.string().min(32, 'must be at least 32 characters').optional(),
  OAUTH_ACCESS_TTL: duration.default(300),
  OAUTH_REFRESH_TTL: duration.default(14 * 86_400),
  OAUTH_CODE_TTL: duration.default(60),
  REVOCATION_SYNC_INTERVAL: duration.refine((v) => v >= 1, 'must be at least 1s').default(5),
  MAX_API_KEYS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(100),
  MAX_PERSONAL_TOKENS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(100),
  MAX_SIGN_INS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Seals TOTP secrets at rest (AES-256-GCM under a key derived from it); generated in development. */
  MFA_ENCRYPTION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Roles whose holders must enrol a second factor before anything else; empty for none. */
  MFA_REQUIRED_ROLES: commaList
    .refine(
      (roles) => roles.every((role) => (ROLES as readonly string[]).includes(role)),
      `roles are ${ROLES.join(', ')}`,
    )
    .default(['admin']),
  /** How old a sign-in may be for the sensitive routes (RFC 9470 max_age). */
  REAUTH_MAX_AGE: duration.refine((v) => v >= 1, 'must be at least 1s').default(15 * 60),
  /** Keys that sign the authorization server's cookies, newest first (older ones still verify). */
  OAUTH_COOKIE_KEYS: commaList
    .refine((keys) => keys.every((key) => key.length >= 32), 'each key must be at least 32 characters')
    .optional(),
  API_KEY_DEFAULT_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  RATE_LIMIT_ANON: rate.default({ limit: 60, windowSeconds: 60 }),
  RATE_LIMIT_USER: rate.default({ limit: 600, windowSeconds: 60 }),
  RATE_LIMIT_AUTH: rate.default({ limit: 10, windowSeconds: 60 }),
  /** false turns every rate limit off (benchmarks); production refuses it without ALLOW_DEV_DEFAULTS. */
  RATE_LIMITS_ENABLED: booleanFlag.default(true),
  LOCKOUT_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  LOCKOUT_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  LOCKOUT_WINDOW: duration.default(15 * 60),

  ALERT_WINDOW: duration.refine((v) => v >= 1, 'must be at least 1s').default(5 * 60),
  ALERT_LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(10),
  ALERT_LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  ALERT_DENIED_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  /** Where alerts are POSTed as JSON; unset: alerts go to the audit trail and the log only. */
  ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALERT_WEBHOOK_TIMEOUT: duration.refine((v) => v >= 1, 'must be at least 1s').default(3),
  /** Standard Webhooks signing secret (`whsec_` + base64 of 24-64 random bytes); required with ALERT_WEBHOOK_URL. */
  ALERT_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'expected whsec_ followed by base64 of 24 to 64 random bytes')
    .optional(),
  /** How often the audit chain's head is signed and published; 0: only at shutdown. */
  AUDIT_CHECKPOINT_INTERVAL: duration.default(15 * 60),
  /** OCSF 1.3 copy of the audit trail: unset (none), `log` (one log line per event) or a file path (JSON lines). */
  AUDIT_OCSF: z.string().min(1).optional(),
  /** Audit events held in memory before they are written; past it routine events are shed and counted into a marker. */
  AUDIT_BUFFER_CAPACITY: z.coerce.number().int().min(1).max(1_000_000).default(10_000),

  /** How often expired tokens and sessions (and old audit events) are purged; 0 turns the schedule off. */
  RETENTION_INTERVAL: duration.default(3600),
  /** Audit events older than this are deleted; unset keeps them forever. At least 1d, so `365` (seconds) is refused. */
  AUDIT_RETENTION: duration.refine((v) => v >= 86_400, 'must be at least 1d, e.g. 365d').optional(),
  /**
   * A key's address not seen for this long is forgotten (its next use from there alerts again).
   * At least 7d: a pair in use is refreshed once a day, so its last sighting may lag two days.
   */
  API_KEY_ADDRESS_RETENTION: duration
    .refine((v) => v >= 7 * 86_400, 'must be at least 7d, e.g. 90d')
    .default(90 * 86_400),

  /**
   * Worker processes on this host (node:cluster), sharing the port; 1: the server runs in this
   * process alone. More than one needs DATABASE_URL and REDIS_URL (workers are instances).
   */
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),

  /** After SIGTERM: readiness answers 503 this long, while requests still arrive and finish, then the server closes. */
  SHUTDOWN_GRACE: duration.default(5),
  /**
   * How long an idle keep-alive connection stays open. Above the proxy's own (nginx upstream 60s,
   * AWS ALB 60s), so the proxy always closes first and never reuses a connection Node is closing (a 502).
   */
  HTTP_KEEP_ALIVE_TIMEOUT: duration.refine((v) => v >= 1, 'must be at least 1s').default(65),
  /** How long a client may take to send a request's headers; above HTTP_KEEP_ALIVE_TIMEOUT (Node's own advice). */
  HTTP_HEADERS_TIMEOUT: duration.refine((v) => v >= 1, 'must be at least 1s').default(66),

  /** OTLP/HTTP endpoint traces go to (`http://collector:4318`); unset: no tracing. Read by dist/otel.js (--import). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The service name on every span. */
  OTEL_SERVICE_NAME: z.string().min(1).max(100).default('nest-secure-api'),

  /** mandatory: no sign-in before the email is proved; optional: a verification mail, sign-in anyway; none: no mail. */
  EMAIL_VERIFICATION: z.enum(['mandatory', 'optional', 'none']).default('mandatory'),
  /** smtp:// or smtps:// with credentials in the URL; unset (development only): mail goes to the log and DATA_DIR/mail. */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The From of every mail: `address` or `Name <address>`; never CR or LF (header injection). */
  MAIL_FROM: z
    .string()
    .max(320)
    .regex(/^(?:[^\r\n<>"]{1,100} <[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/, 'expected address or Name <address>')
    .default('no-reply@localhost'),
  /** Mails per target address (password reset, verification resend, register notices), whoever asks. */
  RATE_LIMIT_MAIL: rate.default({ limit: 5, windowSeconds: 3600 }),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  ENABLE_BENCH_ROUTES: booleanFlag.default(false),
});

export type Env = z.infer<typeof envSchema>;
