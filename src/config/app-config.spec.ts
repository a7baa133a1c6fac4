import { ConfigurationError, loadConfig, type AppConfig } from './app-config';

const MASTER_KEY = 'q1Z9yq0Jc8a3Jv7m1m5mCwX0pQmVZxkTtWJtX8y4Qk0';
const ADMIN_KEY = 'adm_0123456789abcdef0123456789abcdef';

const DEFAULTS: AppConfig = {
  http: { port: 3000, host: '0.0.0.0', requestTimeoutMs: 30_000 },
  database: { url: undefined, poolSize: 20, connectTimeoutMs: 5000, statementTimeoutMs: 15_000, embeddedPort: 54329, runMigrations: true },
  dataDir: './.data',
  masterKey: undefined,
  previousMasterKeys: [],
  bootstrapAdminKey: undefined,
  identityProviders: [],
  console: { apiKeySignIn: true },
  logLevel: 'info',
  ingest: {
    maxEventBytes: 256 * 1024,
    maxBatchBytes: 10 * 1024 * 1024,
    maxBatchEvents: 1000,
    webhookToleranceSeconds: 300,
    sourceCacheTtlMs: 2000,
  },
  privacy: { pseudonymizeSubjects: true, keepRequestObjects: true },
  verification: { clockSkewSeconds: 60, workerEnabled: true, pollIntervalMs: 1000, batchSize: 50, maxAttempts: 8, retryBaseMs: 5000 },
  linker: { enabled: true, pollIntervalMs: 250, batchStatements: 500, maxWaitMs: 5000, lagWarningSeconds: 30 },
  exports: { enabled: true, concurrency: 1, maxRunning: 2, pollIntervalMs: 1000, leaseSeconds: 60, ttlHours: 72, chunkBytes: 1048576 },
  findings: { enabled: true, pollIntervalMs: 500, batchSubjects: 500, delayMs: 1000, orphanGraceSeconds: 600 },
  notifications: {
    enabled: true,
    pollIntervalMs: 1000,
    batchSize: 20,
    timeoutMs: 10_000,
    retryBaseMs: 5000,
    retryCapMs: 3_600_000,
    maxAttempts: 15,
    maxAgeSeconds: 86_400,
    allowHttp: false,
    allowPrivateAddresses: false,
  },
  jwks: { timeoutMs: 3000, maxBytes: 64 * 1024, cacheTtlSeconds: 300, refetchMinIntervalSeconds: 30, allowLoopbackHttp: false, allowPrivateAddresses: false },
  sets: { audience: 'http://localhost:3000' },
  ledger: {
    enabled: true,
    sequencerIntervalMs: 200,
    sequencerBatch: 5000,
    checkpointIntervalSeconds: 60,
    checkpointRecords: 10_000,
    signingAlg: 'EdDSA',
    signingKeyFile: undefined,
  },
  retention: undefined,
};

/** The problems a configuration is refused with, or undefined when it loads. */
function problemsOf(environment: NodeJS.ProcessEnv): string[] | undefined {
  try {
    loadConfig(environment);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
}

describe('loadConfig', () => {
  it('reads the ledger and retention settings, and refuses a policy name without a period', () => {
    const config = loadConfig({ LEDGER_ENABLED: 'false', LEDGER_SIGNING_ALG: 'ES256', LEDGER_CHECKPOINT_RECORDS: '10', RETENTION_PAYLOAD_DAYS: '30', RETENTION_POLICY: 'gdpr-30d' });
    expect(config.ledger).toMatchObject({ enabled: false, signingAlg: 'ES256', checkpointRecords: 10 });
    expect(config.retention).toEqual({ policy: 'gdpr-30d', payloadDays: 30, batchSize: 1000, intervalSeconds: 3600 });
    expect(loadConfig({ RETENTION_PAYLOAD_DAYS: '7' }).retention?.policy).toBe('payload-7d');
    expect(problemsOf({ RETENTION_POLICY: 'x' })).toEqual([expect.stringMatching(/^RETENTION_POLICY: .*RETENTION_PAYLOAD_DAYS/)]);
    expect(problemsOf({ LEDGER_SIGNING_ALG: 'RS256' })).toEqual([expect.stringMatching(/^LEDGER_SIGNING_ALG: /)]);
    expect(problemsOf({ LEDGER_CHECKPOINT_INTERVAL_SECONDS: '0' })).toEqual([expect.stringMatching(/^LEDGER_CHECKPOINT_INTERVAL_SECONDS: /)]);
  });

  it('uses the documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://jartrail:pw@db:5432/jartrail',
        DATABASE_POOL_SIZE: '50',
        JARTRAIL_DATA_DIR: '/var/lib/jartrail',
        JARTRAIL_EMBEDDED_PG_PORT: '55432',
        JARTRAIL_MASTER_KEY: MASTER_KEY,
        JARTRAIL_PREVIOUS_MASTER_KEYS: `${MASTER_KEY.replace('q', 'r')},${MASTER_KEY.replace('Q', 'R')}`,
        BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
        LOG_LEVEL: 'debug',
        INGEST_MAX_EVENT_BYTES: '1024',
        INGEST_MAX_BATCH_BYTES: '2048',
        INGEST_MAX_BATCH_EVENTS: '10',
        WEBHOOK_TOLERANCE_SECONDS: '60',
        SOURCE_CACHE_TTL_MS: '0',
        PSEUDONYMIZE_SUBJECTS: 'false',
        KEEP_REQUEST_OBJECTS: '0',
        MIGRATIONS_RUN: 'false',
        JARTRAIL_PUBLIC_URL: 'https://jartrail.example.com/',
        VERIFY_CLOCK_SKEW_SECONDS: '30',
        VERIFY_WORKER_ENABLED: 'false',
        VERIFY_POLL_INTERVAL_MS: '200',
        VERIFY_BATCH_SIZE: '10',
        VERIFY_MAX_ATTEMPTS: '3',
        VERIFY_RETRY_BASE_MS: '100',
        JWKS_TIMEOUT_MS: '500',
        JWKS_MAX_BYTES: '4096',
        JWKS_CACHE_TTL_SECONDS: '60',
        JWKS_REFETCH_MIN_INTERVAL_SECONDS: '5',
        JWKS_ALLOW_LOOPBACK_HTTP: 'true',
        JWKS_URI_ALLOW_PRIVATE: 'true',
        LEDGER_ENABLED: 'false',
        LEDGER_SEQUENCER_INTERVAL_MS: '50',
        LEDGER_SEQUENCER_BATCH: '100',
        LEDGER_CHECKPOINT_INTERVAL_SECONDS: '5',
        LEDGER_CHECKPOINT_RECORDS: '20',
        LEDGER_SIGNING_ALG: 'ES256',
        LEDGER_SIGNING_KEY_FILE: '/run/secrets/ledger.jwk',
        RETENTION_PAYLOAD_DAYS: '90',
        RETENTION_POLICY: 'audit-90d',
        RETENTION_BATCH_SIZE: '500',
        RETENTION_INTERVAL_SECONDS: '600',
        LINKER_ENABLED: 'false',
        LINKER_POLL_INTERVAL_MS: '100',
        LINKER_BATCH_STATEMENTS: '50',
        LINKER_MAX_WAIT_MS: '1000',
        LINKER_LAG_WARNING_SECONDS: '5',
        FINDINGS_ENABLED: 'false',
        FINDINGS_POLL_INTERVAL_MS: '100',
        FINDINGS_BATCH_SUBJECTS: '20',
        FINDINGS_DELAY_MS: '0',
        ORPHAN_GRACE_SECONDS: '0',
        NOTIFICATIONS_ENABLED: 'false',
        NOTIFICATIONS_POLL_INTERVAL_MS: '50',
        NOTIFICATIONS_BATCH_SIZE: '5',
        NOTIFICATIONS_TIMEOUT_MS: '2000',
        NOTIFICATIONS_RETRY_BASE_MS: '100',
        NOTIFICATIONS_RETRY_CAP_MS: '1000',
        NOTIFICATIONS_MAX_ATTEMPTS: '4',
        NOTIFICATIONS_MAX_AGE_SECONDS: '60',
        NOTIFICATIONS_ALLOW_HTTP: 'true',
        NOTIFICATIONS_ALLOW_PRIVATE: 'true',
        EXPORTS_ENABLED: 'false',
        EXPORTS_CONCURRENCY: '3',
        EXPORTS_MAX_RUNNING: '5',
        EXPORTS_POLL_INTERVAL_MS: '200',
        EXPORTS_LEASE_SECONDS: '30',
        EXPORTS_TTL_HOURS: '24',
        EXPORTS_CHUNK_BYTES: '4096',
      }),
    ).toEqual({
      http: { port: 8080, host: '127.0.0.1', requestTimeoutMs: 30_000 },
      database: { url: 'postgresql://jartrail:pw@db:5432/jartrail', poolSize: 50, connectTimeoutMs: 5000, statementTimeoutMs: 15_000, embeddedPort: 55432, runMigrations: false },
      dataDir: '/var/lib/jartrail',
      masterKey: MASTER_KEY,
      previousMasterKeys: [MASTER_KEY.replace('q', 'r'), MASTER_KEY.replace('Q', 'R')],
      bootstrapAdminKey: ADMIN_KEY,
      identityProviders: [],
      console: { apiKeySignIn: true },
      logLevel: 'debug',
      ingest: { maxEventBytes: 1024, maxBatchBytes: 2048, maxBatchEvents: 10, webhookToleranceSeconds: 60, sourceCacheTtlMs: 0 },
      privacy: { pseudonymizeSubjects: false, keepRequestObjects: false },
      verification: { clockSkewSeconds: 30, workerEnabled: false, pollIntervalMs: 200, batchSize: 10, maxAttempts: 3, retryBaseMs: 100 },
      linker: { enabled: false, pollIntervalMs: 100, batchStatements: 50, maxWaitMs: 1000, lagWarningSeconds: 5 },
      exports: { enabled: false, concurrency: 3, maxRunning: 5, pollIntervalMs: 200, leaseSeconds: 30, ttlHours: 24, chunkBytes: 4096 },
      findings: { enabled: false, pollIntervalMs: 100, batchSubjects: 20, delayMs: 0, orphanGraceSeconds: 0 },
      notifications: {
        enabled: false,
        pollIntervalMs: 50,
        batchSize: 5,
        timeoutMs: 2000,
        retryBaseMs: 100,
        retryCapMs: 1000,
        maxAttempts: 4,
        maxAgeSeconds: 60,
        allowHttp: true,
        allowPrivateAddresses: true,
      },
      jwks: { timeoutMs: 500, maxBytes: 4096, cacheTtlSeconds: 60, refetchMinIntervalSeconds: 5, allowLoopbackHttp: true, allowPrivateAddresses: true },
      sets: { audience: 'https://jartrail.example.com' },
      ledger: {
        enabled: false,
        sequencerIntervalMs: 50,
        sequencerBatch: 100,
        checkpointIntervalSeconds: 5,
        checkpointRecords: 20,
        signingAlg: 'ES256',
        signingKeyFile: '/run/secrets/ledger.jwk',
      },
      retention: { policy: 'audit-90d', payloadDays: 90, batchSize: 500, intervalSeconds: 600 },
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads the flag value %s as %s', (value, expected) => {
    const config = loadConfig({ PSEUDONYMIZE_SUBJECTS: value, KEEP_REQUEST_OBJECTS: value, MIGRATIONS_RUN: value });
    expect([config.privacy.pseudonymizeSubjects, config.privacy.keepRequestObjects, config.database.runMigrations]).toEqual([expected, expected, expected]);
  });

  it('accepts a postgres:// URL as well as postgresql://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://localhost/jartrail' }).database.url).toBe('postgres://localhost/jartrail');
  });

  it('counts empty variables as unset, so the defaults apply', () => {
    const empty = Object.fromEntries(
      [
        'PORT',
        'HOST',
        'DATABASE_URL',
        'DATABASE_POOL_SIZE',
        'JARTRAIL_DATA_DIR',
        'JARTRAIL_EMBEDDED_PG_PORT',
        'JARTRAIL_MASTER_KEY',
        'JARTRAIL_PREVIOUS_MASTER_KEYS',
        'BOOTSTRAP_ADMIN_KEY',
        'LOG_LEVEL',
        'INGEST_MAX_EVENT_BYTES',
        'INGEST_MAX_BATCH_BYTES',
        'INGEST_MAX_BATCH_EVENTS',
        'WEBHOOK_TOLERANCE_SECONDS',
        'SOURCE_CACHE_TTL_MS',
        'PSEUDONYMIZE_SUBJECTS',
        'KEEP_REQUEST_OBJECTS',
        'MIGRATIONS_RUN',
      ].map((name) => [name, '']),
    );
    expect(loadConfig(empty)).toEqual(DEFAULTS);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'test' })).toEqual(DEFAULTS);
  });

  it.each([
    ['PORT', 'http'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', ' '],
    ['PORT', '0x1F90'],
    ['PORT', '8e3'],
    ['DATABASE_POOL_SIZE', ' 5 '],
    ['DATABASE_URL', 'mysql://localhost/jartrail'],
    ['DATABASE_URL', 'localhost:5432'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_POOL_SIZE', '201'],
    ['JARTRAIL_EMBEDDED_PG_PORT', '0'],
    ['JARTRAIL_EMBEDDED_PG_PORT', '70000'],
    ['JARTRAIL_MASTER_KEY', 'too-short'],
    ['JARTRAIL_MASTER_KEY', `${MASTER_KEY}=`],
    ['JARTRAIL_MASTER_KEY', `${MASTER_KEY.slice(0, 42)}+`],
    ['JARTRAIL_PREVIOUS_MASTER_KEYS', `${MASTER_KEY},too-short`],
    ['BOOTSTRAP_ADMIN_KEY', 'short'],
    ['BOOTSTRAP_ADMIN_KEY', 'x'.repeat(513)],
    ['LOG_LEVEL', 'verbose'],
    ['INGEST_MAX_EVENT_BYTES', '0'],
    ['INGEST_MAX_EVENT_BYTES', '1.5'],
    ['INGEST_MAX_BATCH_BYTES', 'ten megabytes'],
    ['INGEST_MAX_BATCH_EVENTS', '-10'],
    ['WEBHOOK_TOLERANCE_SECONDS', '0'],
    ['WEBHOOK_TOLERANCE_SECONDS', '3601'],
    ['SOURCE_CACHE_TTL_MS', '-1'],
    ['SOURCE_CACHE_TTL_MS', '60001'],
    ['PSEUDONYMIZE_SUBJECTS', 'yes'],
    ['KEEP_REQUEST_OBJECTS', 'TRUE'],
    ['MIGRATIONS_RUN', 'no'],
  ])('refuses %s=%s with a ConfigurationError naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigurationError);
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems![0]).toMatch(new RegExp(`^${name}: `));
  });

  it('lists every bad variable at once, in a readable message', () => {
    let thrown: unknown;
    try {
      loadConfig({ PORT: 'http', LOG_LEVEL: 'verbose' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    const error = thrown as ConfigurationError;
    expect(error.name).toBe('ConfigurationError');
    expect(error.problems.map((problem) => problem.split(':')[0]).sort()).toEqual(['LOG_LEVEL', 'PORT']);
    expect(error.message).toMatch(/^Invalid configuration:\n {2}- /);
    expect(error.message).toContain('PORT: ');
    expect(error.message).toContain('LOG_LEVEL: ');
  });

  it('does not echo a secret that failed validation', () => {
    const badKey = 'not-a-valid-master-key-but-secret';
    const problems = problemsOf({ JARTRAIL_MASTER_KEY: badKey, BOOTSTRAP_ADMIN_KEY: 'tiny-secret' });
    expect(problems!.join('\n')).not.toContain(badKey);
    expect(problems!.join('\n')).not.toContain('tiny-secret');
  });

  it('reads process.env when no environment is given', () => {
    const saved = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'warn';
    try {
      expect(loadConfig().logLevel).toBe('warn');
    } finally {
      if (saved === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = saved;
    }
  });

  describe('identity providers', () => {
    const ISSUER = 'https://login.example.com/realms/acme';

    it('reads one provider from the IDP_* variables, with pinned defaults: RS256, at+jwt, scope, 30 s', () => {
      const config = loadConfig({ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'https://jartrail.example.com', CONSOLE_CLIENT_ID: 'jartrail-console' });
      expect(config.identityProviders).toEqual([
        {
          issuer: ISSUER,
          audience: 'https://jartrail.example.com',
          jwksUri: undefined,
          algorithms: ['RS256'],
          tokenTypes: ['at+jwt'],
          scopeClaim: 'scope',
          roleMap: undefined,
          clockToleranceSeconds: 30,
          consoleClientId: 'jartrail-console',
          consoleScopes: 'openid audit:read audit:export audit:admin audit:triage',
        },
      ]);
      expect(config.console.apiKeySignIn).toBe(true);
    });

    it('reads every IDP_* variable', () => {
      const [provider] = loadConfig({
        IDP_ISSUER: ISSUER,
        IDP_AUDIENCE: 'jartrail',
        IDP_JWKS_URI: `${ISSUER}/protocol/openid-connect/certs`,
        IDP_ALGORITHMS: 'ES256, PS256',
        IDP_TOKEN_TYPES: 'application/at+jwt,JWT',
        IDP_SCOPE_CLAIM: 'realm_access.roles',
        IDP_ROLE_MAP: '{"CN=Auditors,OU=Groups": ["audit:read"], "admins": ["audit:admin", "audit:read"]}',
        IDP_CLOCK_TOLERANCE_SECONDS: '5',
        CONSOLE_CLIENT_ID: 'console',
        CONSOLE_SCOPES: 'openid jartrail',
        CONSOLE_API_KEY_SIGN_IN: 'false',
      }).identityProviders;
      expect(provider).toMatchObject({
        jwksUri: `${ISSUER}/protocol/openid-connect/certs`,
        algorithms: ['ES256', 'PS256'],
        tokenTypes: ['at+jwt', 'jwt'],
        scopeClaim: 'realm_access.roles',
        clockToleranceSeconds: 5,
        consoleScopes: 'openid jartrail',
      });
      expect([...provider!.roleMap!]).toEqual([
        ['CN=Auditors,OU=Groups', ['audit:read']],
        ['admins', ['audit:admin', 'audit:read']],
      ]);
    });

    it('reads several providers from IDENTITY_PROVIDERS', () => {
      const providers = loadConfig({
        IDENTITY_PROVIDERS: JSON.stringify([
          { issuer: ISSUER, audience: 'a' },
          { issuer: 'https://acme.okta.com/oauth2/default', audience: 'api://jartrail', scope_claim: 'scp', algorithms: ['RS256', 'ES256'] },
        ]),
      }).identityProviders;
      expect(providers.map((provider) => [provider.issuer, provider.scopeClaim, provider.algorithms])).toEqual([
        [ISSUER, 'scope', ['RS256']],
        ['https://acme.okta.com/oauth2/default', 'scp', ['RS256', 'ES256']],
      ]);
    });

    it.each([
      [{ IDP_ISSUER: ISSUER }, 'IDP_AUDIENCE: required'],
      [{ IDP_AUDIENCE: 'a' }, 'IDP_ISSUER: required'],
      [{ IDP_ISSUER: 'http://login.example.com', IDP_AUDIENCE: 'a' }, 'IDP_ISSUER: must be https'],
      [{ IDP_ISSUER: 'http://127.0.0.1:8080', IDP_AUDIENCE: 'a' }, 'IDP_ISSUER: must be https'],
      [{ IDP_ISSUER: 'login.example.com', IDP_AUDIENCE: 'a' }, 'IDP_ISSUER: must be an absolute URL'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_ALGORITHMS: 'HS256' }, 'IDP_ALGORITHMS (0): must be one of'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_ALGORITHMS: 'RS256,none' }, 'IDP_ALGORITHMS (1): must be one of'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_TOKEN_TYPES: 'id_token' }, 'IDP_TOKEN_TYPES (0): must be at+jwt'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_ROLE_MAP: 'auditors=audit:read' }, 'IDP_ROLE_MAP: must be JSON'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_ROLE_MAP: '{"auditors": ["audit:write"]}' }, 'IDP_ROLE_MAP (auditors.0): '],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_ROLE_MAP: '{}' }, 'IDP_ROLE_MAP: must map at least one value'],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_CLOCK_TOLERANCE_SECONDS: '3600' }, 'IDP_CLOCK_TOLERANCE_SECONDS: '],
      [{ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'console', IDP_TOKEN_TYPES: 'at+jwt,JWT', CONSOLE_CLIENT_ID: 'console' }, 'IDP_AUDIENCE: must differ from console_client_id'],
      [{ IDENTITY_PROVIDERS: '{"issuer": "x"}' }, 'IDENTITY_PROVIDERS: must be a JSON array'],
      [{ IDENTITY_PROVIDERS: JSON.stringify([{ issuer: ISSUER, audience: 'a', colour: 'blue' }]) }, 'IDENTITY_PROVIDERS[0]: '],
      [{ IDENTITY_PROVIDERS: JSON.stringify([{ issuer: ISSUER, audience: 'a' }, { issuer: ISSUER, audience: 'b' }]) }, 'IDENTITY_PROVIDERS: issuer https://login.example.com/realms/acme is configured twice'],
      [{ IDENTITY_PROVIDERS: '[]', IDP_ISSUER: ISSUER }, 'IDENTITY_PROVIDERS: set either'],
      [{ BOOTSTRAP_ADMIN_KEY: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' }, 'BOOTSTRAP_ADMIN_KEY: must not have the shape of a JWT'],
    ])('refuses %j at boot: %s', (environment, message) => {
      expect(problemsOf(environment)!.join('\n')).toContain(message);
    });

    it('allows plain http to a loopback issuer only with JWKS_ALLOW_LOOPBACK_HTTP', () => {
      expect(loadConfig({ IDP_ISSUER: 'http://127.0.0.1:8080', IDP_AUDIENCE: 'a', JWKS_ALLOW_LOOPBACK_HTTP: 'true' }).identityProviders).toHaveLength(1);
      expect(problemsOf({ IDP_ISSUER: 'http://login.example.com', IDP_AUDIENCE: 'a', JWKS_ALLOW_LOOPBACK_HTTP: 'true' })!.join()).toContain('plain http only for a loopback host');
    });

    it('asks the console for openid only when scopes come from mapped roles', () => {
      const [provider] = loadConfig({ IDP_ISSUER: ISSUER, IDP_AUDIENCE: 'a', IDP_SCOPE_CLAIM: 'groups', IDP_ROLE_MAP: '{"g": ["audit:read"]}' }).identityProviders;
      expect(provider!.consoleScopes).toBe('openid');
    });
  });
});
