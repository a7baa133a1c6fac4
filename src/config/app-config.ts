import { z } from 'zod';
import { type IdentityProviderConfig, identityProvidersOf, JWT_SHAPE } from './identity-providers';

/**
 * The service's whole configuration, read once from the environment and validated at boot.
 * A bad value stops the process with a message naming the variable; nothing falls back silently.
 */
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/**
 * An integer in decimal digits, between min and max. Not z.coerce: it reads " " as 0 (a random port) and
 * "0x1F90" or "8e3" as numbers, where a typo should stop the boot.
 */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const environmentSchema = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_REQUEST_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: integer(1, 200).default(20),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 600_000).default(5000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(15_000),
  JARTRAIL_DATA_DIR: z.string().min(1).default('./.data'),
  JARTRAIL_EMBEDDED_PG_PORT: integer(1, 65535).default(54329),
  JARTRAIL_MASTER_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 random bytes, base64url without padding (43 characters)')
    .optional(),
  JARTRAIL_PREVIOUS_MASTER_KEYS: z
    .string()
    .regex(/^([A-Za-z0-9_-]{43}(,[A-Za-z0-9_-]{43})*)?$/, 'must be master keys (43 base64url characters each) separated by commas')
    .default('')
    .transform((keys) => (keys === '' ? [] : keys.split(','))),
  BOOTSTRAP_ADMIN_KEY: z
    .string()
    .min(32, 'must be at least 32 characters')
    .max(512)
    // A bearer value with the shape of a JWT is verified as one: such a key could never be used.
    .refine((key) => !JWT_SHAPE.test(key), 'must not have the shape of a JWT (base64url parts joined by dots)')
    .optional(),
  IDENTITY_PROVIDERS: z.string().optional(),
  IDP_ISSUER: z.string().optional(),
  IDP_AUDIENCE: z.string().optional(),
  IDP_JWKS_URI: z.string().optional(),
  IDP_ALGORITHMS: z.string().optional(),
  IDP_TOKEN_TYPES: z.string().optional(),
  IDP_SCOPE_CLAIM: z.string().optional(),
  IDP_ROLE_MAP: z.string().optional(),
  IDP_CLOCK_TOLERANCE_SECONDS: z.string().optional(),
  CONSOLE_CLIENT_ID: z.string().optional(),
  CONSOLE_SCOPES: z.string().optional(),
  CONSOLE_API_KEY_SIGN_IN: booleanFlag.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INGEST_MAX_EVENT_BYTES: integer(1).default(256 * 1024),
  INGEST_MAX_BATCH_BYTES: integer(1).default(10 * 1024 * 1024),
  INGEST_MAX_BATCH_EVENTS: integer(1).default(1000),
  WEBHOOK_TOLERANCE_SECONDS: integer(1, 3600).default(300),
  SOURCE_CACHE_TTL_MS: integer(0, 60_000).default(2000),
  PSEUDONYMIZE_SUBJECTS: booleanFlag.default(true),
  KEEP_REQUEST_OBJECTS: booleanFlag.default(true),
  MIGRATIONS_RUN: booleanFlag.default(true),
  JARTRAIL_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  JARTRAIL_SET_AUDIENCE: z.string().min(1).max(2048).optional(),
  VERIFY_CLOCK_SKEW_SECONDS: integer(0, 600).default(60),
  VERIFY_WORKER_ENABLED: booleanFlag.default(true),
  VERIFY_POLL_INTERVAL_MS: integer(10, 60_000).default(1000),
  VERIFY_BATCH_SIZE: integer(1, 1000).default(50),
  VERIFY_MAX_ATTEMPTS: integer(1, 100).default(8),
  VERIFY_RETRY_BASE_MS: integer(1, 3_600_000).default(5000),
  LINKER_ENABLED: booleanFlag.default(true),
  LINKER_POLL_INTERVAL_MS: integer(10, 60_000).default(250),
  LINKER_BATCH_STATEMENTS: integer(1, 10_000).default(500),
  LINKER_MAX_WAIT_MS: integer(0, 60_000).default(5000),
  LINKER_LAG_WARNING_SECONDS: integer(1, 86_400).default(30),
  FINDINGS_ENABLED: booleanFlag.default(true),
  FINDINGS_POLL_INTERVAL_MS: integer(10, 60_000).default(500),
  FINDINGS_BATCH_SUBJECTS: integer(1, 10_000).default(500),
  FINDINGS_DELAY_MS: integer(0, 60_000).default(1000),
  EXPORTS_ENABLED: booleanFlag.default(true),
  EXPORTS_CONCURRENCY: integer(1, 16).default(1),
  EXPORTS_MAX_RUNNING: integer(1, 256).default(2),
  EXPORTS_POLL_INTERVAL_MS: integer(10, 60_000).default(1000),
  EXPORTS_LEASE_SECONDS: integer(5, 3600).default(60),
  EXPORTS_TTL_HOURS: integer(1, 24 * 90).default(72),
  EXPORTS_CHUNK_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ORPHAN_GRACE_SECONDS: integer(0, 30 * 86_400).default(600),
  NOTIFICATIONS_ENABLED: booleanFlag.default(true),
  NOTIFICATIONS_POLL_INTERVAL_MS: integer(10, 60_000).default(1000),
  NOTIFICATIONS_BATCH_SIZE: integer(1, 1000).default(20),
  NOTIFICATIONS_TIMEOUT_MS: integer(100, 120_000).default(10_000),
  NOTIFICATIONS_RETRY_BASE_MS: integer(1, 3_600_000).default(5000),
  NOTIFICATIONS_RETRY_CAP_MS: integer(1, 86_400_000).default(3_600_000),
  NOTIFICATIONS_MAX_ATTEMPTS: integer(1, 1000).default(15),
  NOTIFICATIONS_MAX_AGE_SECONDS: integer(1, 30 * 86_400).default(86_400),
  NOTIFICATIONS_ALLOW_HTTP: booleanFlag.default(false),
  NOTIFICATIONS_ALLOW_PRIVATE: booleanFlag.default(false),
  JWKS_TIMEOUT_MS: integer(1, 60_000).default(3000),
  JWKS_MAX_BYTES: integer(256, 4 * 1024 * 1024).default(64 * 1024),
  JWKS_CACHE_TTL_SECONDS: integer(0, 86_400).default(300),
  JWKS_REFETCH_MIN_INTERVAL_SECONDS: integer(0, 3600).default(30),
  JWKS_ALLOW_LOOPBACK_HTTP: booleanFlag.default(false),
  JWKS_URI_ALLOW_PRIVATE: booleanFlag.default(false),
  LEDGER_ENABLED: booleanFlag.default(true),
  LEDGER_SEQUENCER_INTERVAL_MS: integer(10, 60_000).default(200),
  LEDGER_SEQUENCER_BATCH: integer(1, 100_000).default(5000),
  LEDGER_CHECKPOINT_INTERVAL_SECONDS: integer(1, 86_400).default(60),
  LEDGER_CHECKPOINT_RECORDS: integer(1).default(10_000),
  LEDGER_SIGNING_ALG: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
  LEDGER_SIGNING_KEY_FILE: z.string().min(1).optional(),
  RETENTION_PAYLOAD_DAYS: integer(1, 36_500).optional(),
  RETENTION_POLICY: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_", ":" or "-"')
    .optional(),
  RETENTION_BATCH_SIZE: integer(1, 100_000).default(1000),
  RETENTION_INTERVAL_SECONDS: integer(1, 86_400).default(3600),
});

export interface AppConfig {
  readonly http: {
    readonly port: number;
    readonly host: string;
    /** The longest a client may take to send a whole request, headers and body: 408 and the connection closed after. */
    readonly requestTimeoutMs: number;
  };
  readonly database: {
    /** Set when an external PostgreSQL is configured; absent means the embedded one. */
    readonly url: string | undefined;
    readonly poolSize: number;
    /** Opening a connection or waiting for a pooled one; then 503. */
    readonly connectTimeoutMs: number;
    /** One statement (the ledger sequencer's: at least 60 s; migrations: unbounded); then 503. */
    readonly statementTimeoutMs: number;
    readonly embeddedPort: number;
    readonly runMigrations: boolean;
  };
  readonly dataDir: string;
  /** Secret: never logged. Absent means "load or create the key file in dataDir". */
  readonly masterKey: string | undefined;
  /** Secret: never logged. Keys that still open values sealed before a rotation; they seal nothing new. */
  readonly previousMasterKeys: readonly string[];
  /** Secret: never logged. */
  readonly bootstrapAdminKey: string | undefined;
  /** Whose bearer JWTs auditors may sign in with (none: API keys only). */
  readonly identityProviders: readonly IdentityProviderConfig[];
  readonly console: {
    /** Whether the review console offers sign-in with an API key (the API takes keys either way). */
    readonly apiKeySignIn: boolean;
  };
  readonly logLevel: string;
  readonly ingest: {
    readonly maxEventBytes: number;
    readonly maxBatchBytes: number;
    readonly maxBatchEvents: number;
    readonly webhookToleranceSeconds: number;
    readonly sourceCacheTtlMs: number;
  };
  readonly privacy: {
    readonly pseudonymizeSubjects: boolean;
    readonly keepRequestObjects: boolean;
  };
  readonly verification: {
    /** Accepted clock difference for exp, nbf and iat, against the time the AS reported its verification. */
    readonly clockSkewSeconds: number;
    /** Run the background verification worker in this process. */
    readonly workerEnabled: boolean;
    readonly pollIntervalMs: number;
    readonly batchSize: number;
    /** After this many failed attempts the verdict is `unverifiable` (`jwks_unavailable`, or `verification_error`). */
    readonly maxAttempts: number;
    /** First retry delay; doubled on each further attempt. */
    readonly retryBaseMs: number;
  };
  readonly linker: {
    /** Run the background linker in this process (every replica may; they take turns). */
    readonly enabled: boolean;
    /** How often an idle linker looks for work committed by other replicas. */
    readonly pollIntervalMs: number;
    /** Queue rows (ingest statements) linked in one linker transaction. */
    readonly batchStatements: number;
    /** The longest a query with `min_position` waits for the linker before answering with what it has. */
    readonly maxWaitMs: number;
    /** A warning is logged while the oldest unlinked record has waited longer than this. */
    readonly lagWarningSeconds: number;
  };
  readonly exports: {
    readonly enabled: boolean;
    /** Jobs this process runs at once. */
    readonly concurrency: number;
    /** Jobs running at once in the whole cluster (every replica counts its claims against it). */
    readonly maxRunning: number;
    readonly pollIntervalMs: number;
    readonly leaseSeconds: number;
    readonly ttlHours: number;
    /** The size of the chunks a file is stored in (kept per job, so a change applies to new jobs only). */
    readonly chunkBytes: number;
  };
  readonly findings: {
    /** Evaluate the finding rules in this process (every replica may; they take turns). */
    readonly enabled: boolean;
    /** How often an idle evaluator looks for chains to evaluate (new records, verdicts, grace periods ending). */
    readonly pollIntervalMs: number;
    /** Chains (or loose records) evaluated in one transaction. */
    readonly batchSubjects: number;
    /**
     * How long after linking a changed chain becomes due: the records of one authorization arriving close together
     * are then judged in one evaluation instead of one per linker batch.
     */
    readonly delayMs: number;
    /** How long a record may wait for the record that completes it before it is an orphan. */
    readonly orphanGraceSeconds: number;
  };
  readonly notifications: {
    /** Run the delivery worker in this process (every replica may; they claim different deliveries). */
    readonly enabled: boolean;
    readonly pollIntervalMs: number;
    /** Deliveries claimed, and sent concurrently, at once. */
    readonly batchSize: number;
    /** One attempt: connecting, sending and the receiver's answer. */
    readonly timeoutMs: number;
    /** Retry delays: base doubled per failed attempt, at most cap, with jitter (retry-schedule.ts). */
    readonly retryBaseMs: number;
    readonly retryCapMs: number;
    /** A delivery is `failed` after this many attempts, or when its next attempt would be later than maxAgeSeconds after it was queued. */
    readonly maxAttempts: number;
    readonly maxAgeSeconds: number;
    /** Plain http:// subscription URLs (tests, a receiver inside the same network); https otherwise. */
    readonly allowHttp: boolean;
    /** Subscription URLs on loopback, private, link-local and other non-public addresses (checked again at each attempt). */
    readonly allowPrivateAddresses: boolean;
  };
  readonly jwks: {
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly cacheTtlSeconds: number;
    /** At most one refetch per jwks_uri in this interval when an unknown kid asks for one. */
    readonly refetchMinIntervalSeconds: number;
    /** Plain http:// for loopback hosts only (tests, a local sidecar); https everywhere else. */
    readonly allowLoopbackHttp: boolean;
    /** jwks_uri hosts on loopback, private, link-local and other non-public addresses (checked again at each fetch). */
    readonly allowPrivateAddresses: boolean;
  };
  readonly sets: {
    /** The `aud` a Security Event Token must name: JARTRAIL_SET_AUDIENCE, else the public URL. */
    readonly audience: string;
  };
  readonly ledger: {
    /** false stops this process's sequencer (records still queue, and are ledgered once a sequencer runs). */
    readonly enabled: boolean;
    readonly sequencerIntervalMs: number;
    readonly sequencerBatch: number;
    readonly checkpointIntervalSeconds: number;
    readonly checkpointRecords: number;
    readonly signingAlg: 'EdDSA' | 'ES256';
    /** A private JWK file to sign with instead of a generated key. Secret: the file, never its content, is logged. */
    readonly signingKeyFile: string | undefined;
  };
  /** Absent: payloads are kept for ever. */
  readonly retention:
    | { readonly policy: string; readonly payloadDays: number; readonly batchSize: number; readonly intervalSeconds: number }
    | undefined;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty variables count as unset, as a shell `FOO=` usually means "no value".
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigurationError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  if (env.RETENTION_POLICY !== undefined && env.RETENTION_PAYLOAD_DAYS === undefined) {
    throw new ConfigurationError(['RETENTION_POLICY: names a retention policy, which needs RETENTION_PAYLOAD_DAYS']);
  }
  const identity = identityProvidersOf(
    {
      IDENTITY_PROVIDERS: env.IDENTITY_PROVIDERS,
      IDP_ISSUER: env.IDP_ISSUER,
      IDP_AUDIENCE: env.IDP_AUDIENCE,
      IDP_JWKS_URI: env.IDP_JWKS_URI,
      IDP_ALGORITHMS: env.IDP_ALGORITHMS,
      IDP_TOKEN_TYPES: env.IDP_TOKEN_TYPES,
      IDP_SCOPE_CLAIM: env.IDP_SCOPE_CLAIM,
      IDP_ROLE_MAP: env.IDP_ROLE_MAP,
      IDP_CLOCK_TOLERANCE_SECONDS: env.IDP_CLOCK_TOLERANCE_SECONDS,
      CONSOLE_CLIENT_ID: env.CONSOLE_CLIENT_ID,
      CONSOLE_SCOPES: env.CONSOLE_SCOPES,
    },
    env.JWKS_ALLOW_LOOPBACK_HTTP,
  );
  if (identity.problems.length > 0) throw new ConfigurationError(identity.problems);
  return {
    http: { port: env.PORT, host: env.HOST, requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS },
    database: {
      url: env.DATABASE_URL,
      poolSize: env.DATABASE_POOL_SIZE,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      embeddedPort: env.JARTRAIL_EMBEDDED_PG_PORT,
      runMigrations: env.MIGRATIONS_RUN,
    },
    dataDir: env.JARTRAIL_DATA_DIR,
    masterKey: env.JARTRAIL_MASTER_KEY,
    previousMasterKeys: env.JARTRAIL_PREVIOUS_MASTER_KEYS,
    bootstrapAdminKey: env.BOOTSTRAP_ADMIN_KEY,
    identityProviders: identity.providers,
    console: { apiKeySignIn: env.CONSOLE_API_KEY_SIGN_IN },
    logLevel: env.LOG_LEVEL,
    ingest: {
      maxEventBytes: env.INGEST_MAX_EVENT_BYTES,
      maxBatchBytes: env.INGEST_MAX_BATCH_BYTES,
      maxBatchEvents: env.INGEST_MAX_BATCH_EVENTS,
      webhookToleranceSeconds: env.WEBHOOK_TOLERANCE_SECONDS,
      sourceCacheTtlMs: env.SOURCE_CACHE_TTL_MS,
    },
    privacy: {
      pseudonymizeSubjects: env.PSEUDONYMIZE_SUBJECTS,
      keepRequestObjects: env.KEEP_REQUEST_OBJECTS,
    },
    linker: {
      enabled: env.LINKER_ENABLED,
      pollIntervalMs: env.LINKER_POLL_INTERVAL_MS,
      batchStatements: env.LINKER_BATCH_STATEMENTS,
      maxWaitMs: env.LINKER_MAX_WAIT_MS,
      lagWarningSeconds: env.LINKER_LAG_WARNING_SECONDS,
    },
    exports: {
      enabled: env.EXPORTS_ENABLED,
      concurrency: env.EXPORTS_CONCURRENCY,
      maxRunning: env.EXPORTS_MAX_RUNNING,
      pollIntervalMs: env.EXPORTS_POLL_INTERVAL_MS,
      leaseSeconds: env.EXPORTS_LEASE_SECONDS,
      ttlHours: env.EXPORTS_TTL_HOURS,
      chunkBytes: env.EXPORTS_CHUNK_BYTES,
    },
    findings: {
      enabled: env.FINDINGS_ENABLED,
      pollIntervalMs: env.FINDINGS_POLL_INTERVAL_MS,
      batchSubjects: env.FINDINGS_BATCH_SUBJECTS,
      delayMs: env.FINDINGS_DELAY_MS,
      orphanGraceSeconds: env.ORPHAN_GRACE_SECONDS,
    },
    notifications: {
      enabled: env.NOTIFICATIONS_ENABLED,
      pollIntervalMs: env.NOTIFICATIONS_POLL_INTERVAL_MS,
      batchSize: env.NOTIFICATIONS_BATCH_SIZE,
      timeoutMs: env.NOTIFICATIONS_TIMEOUT_MS,
      retryBaseMs: env.NOTIFICATIONS_RETRY_BASE_MS,
      retryCapMs: env.NOTIFICATIONS_RETRY_CAP_MS,
      maxAttempts: env.NOTIFICATIONS_MAX_ATTEMPTS,
      maxAgeSeconds: env.NOTIFICATIONS_MAX_AGE_SECONDS,
      allowHttp: env.NOTIFICATIONS_ALLOW_HTTP,
      allowPrivateAddresses: env.NOTIFICATIONS_ALLOW_PRIVATE,
    },
    verification: {
      clockSkewSeconds: env.VERIFY_CLOCK_SKEW_SECONDS,
      workerEnabled: env.VERIFY_WORKER_ENABLED,
      pollIntervalMs: env.VERIFY_POLL_INTERVAL_MS,
      batchSize: env.VERIFY_BATCH_SIZE,
      maxAttempts: env.VERIFY_MAX_ATTEMPTS,
      retryBaseMs: env.VERIFY_RETRY_BASE_MS,
    },
    jwks: {
      timeoutMs: env.JWKS_TIMEOUT_MS,
      maxBytes: env.JWKS_MAX_BYTES,
      cacheTtlSeconds: env.JWKS_CACHE_TTL_SECONDS,
      refetchMinIntervalSeconds: env.JWKS_REFETCH_MIN_INTERVAL_SECONDS,
      allowLoopbackHttp: env.JWKS_ALLOW_LOOPBACK_HTTP,
      allowPrivateAddresses: env.JWKS_URI_ALLOW_PRIVATE,
    },
    sets: {
      audience: env.JARTRAIL_SET_AUDIENCE ?? (env.JARTRAIL_PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    },
    ledger: {
      enabled: env.LEDGER_ENABLED,
      sequencerIntervalMs: env.LEDGER_SEQUENCER_INTERVAL_MS,
      sequencerBatch: env.LEDGER_SEQUENCER_BATCH,
      checkpointIntervalSeconds: env.LEDGER_CHECKPOINT_INTERVAL_SECONDS,
      checkpointRecords: env.LEDGER_CHECKPOINT_RECORDS,
      signingAlg: env.LEDGER_SIGNING_ALG,
      signingKeyFile: env.LEDGER_SIGNING_KEY_FILE,
    },
    retention:
      env.RETENTION_PAYLOAD_DAYS === undefined
        ? undefined
        : {
            policy: env.RETENTION_POLICY ?? `payload-${env.RETENTION_PAYLOAD_DAYS}d`,
            payloadDays: env.RETENTION_PAYLOAD_DAYS,
            batchSize: env.RETENTION_BATCH_SIZE,
            intervalSeconds: env.RETENTION_INTERVAL_SECONDS,
          },
  };
}

/** Injection token for the resolved AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
