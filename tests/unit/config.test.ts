import { describe, expect, it } from 'vitest';
import { heartbeatMs, loadConfig, roleProblem } from '../../src/config.js';

describe('loadConfig', () => {
  it('gives every setting its default when the environment is empty', () => {
    expect(loadConfig({})).toEqual({
      PORT: 4000,
      HOST: '127.0.0.1',
      DATA_DIR: './.data',
      EMBEDDED_PG_PORT: 54329,
      QUEUE_ADAPTER: 'postgres',
      WORKER_CONCURRENCY: 10,
      LEASE_MS: 30_000,
      HEARTBEAT_MS: 0,
      REAPER_INTERVAL_MS: 5_000,
      RECONCILE_INTERVAL_MS: 30_000,
      SHUTDOWN_GRACE_MS: 8_000,
      ABORT_GRACE_MS: 2_000,
      POLL_INTERVAL_MS: 1_000,
      MAX_TASKS_PER_JOB: 10_000,
      IDEMPOTENCY_KEY_TTL_MS: 86_400_000,
      RESULT_MAX_BYTES: 1_048_576,
      RETENTION_MS: 604_800_000,
      QUEUE_RETENTION_MS: new Map(),
      MAINTENANCE_INTERVAL_MS: 60_000,
      SCHEDULER_INTERVAL_MS: 1_000,
      SCHEDULE_MISSED_AFTER_MS: 30_000,
      SUBSCRIPTION_RESYNC_MS: 5_000,
      METRICS_HOST: '127.0.0.1',
      STARTUP_WAIT_MS: 300_000,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'auto',
      AUTH_MODE: 'open',
      AUTH_ALLOW_OPEN: false,
      AUTH_KEY_CACHE_MS: 2_000,
      AUTH_JWT_TENANT_CLAIM: 'tenant',
      AUTH_JWT_SCOPES_CLAIM: 'scope',
      JOB_TOKEN_DEFAULT_SECONDS: 900,
      JOB_TOKEN_MAX_SECONDS: 86_400,
      GRAPHQL_INTROSPECTION: true,
      GRAPHIQL: true,
      CORS_ORIGINS: [],
      MAX_BODY_BYTES: 4_194_304,
      MAX_SUBSCRIPTIONS_PER_CONNECTION: 100,
      ARMOR_MAX_DEPTH: 12,
      ARMOR_MAX_ALIASES: 15,
      ARMOR_MAX_TOKENS: 2_000,
      ARMOR_MAX_DIRECTIVES: 20,
      ARMOR_MAX_COST: 20_000,
      RATE_LIMIT_REQUESTS_PER_MINUTE: 12_000,
      RATE_LIMIT_TASKS_PER_MINUTE: 600_000,
      API_POOL_SIZE: 10,
      API_CONNECTIONS_PER_REQUEST: 2,
      API_STATEMENT_TIMEOUT_MS: 5_000,
    });
  });

  it('refuses a task rate below the largest job, and a request share above the pool', () => {
    expect(() => loadConfig({ RATE_LIMIT_TASKS_PER_MINUTE: '500' })).toThrow(/RATE_LIMIT_TASKS_PER_MINUTE: must be 0 \(no limit\) or at least MAX_TASKS_PER_JOB/);
    expect(loadConfig({ RATE_LIMIT_TASKS_PER_MINUTE: '500', MAX_TASKS_PER_JOB: '500' }).RATE_LIMIT_TASKS_PER_MINUTE).toBe(500);
    expect(loadConfig({ RATE_LIMIT_TASKS_PER_MINUTE: '0', RATE_LIMIT_REQUESTS_PER_MINUTE: '0' })).toMatchObject({ RATE_LIMIT_TASKS_PER_MINUTE: 0, RATE_LIMIT_REQUESTS_PER_MINUTE: 0 });
    expect(() => loadConfig({ API_POOL_SIZE: '2', API_CONNECTIONS_PER_REQUEST: '3' })).toThrow(/API_CONNECTIONS_PER_REQUEST: must not exceed API_POOL_SIZE/);
    expect(() => loadConfig({ API_STATEMENT_TIMEOUT_MS: '10' })).toThrow(/API_STATEMENT_TIMEOUT_MS/);
  });

  it('requires credentials, listens on every interface and hides the schema with NODE_ENV=production', () => {
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ AUTH_MODE: 'required', HOST: '0.0.0.0', GRAPHQL_INTROSPECTION: false, GRAPHIQL: false });
    expect(loadConfig({ AUTH_MODE: 'required', GRAPHIQL: 'true' })).toMatchObject({ HOST: '0.0.0.0', GRAPHIQL: true, GRAPHQL_INTROSPECTION: false });
  });

  it('refuses an open API that others can reach, unless AUTH_ALLOW_OPEN says so', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/AUTH_MODE: open .*AUTH_ALLOW_OPEN=true/);
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'open', HOST: '127.0.0.1' })).toThrow(/NODE_ENV=production/);
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_ALLOW_OPEN: 'true' })).toMatchObject({ AUTH_MODE: 'open', HOST: '0.0.0.0' });
    expect(loadConfig({ HOST: '::1' }).HOST).toBe('::1');
  });

  it('takes browser origins as exact origins only', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/must be an origin/);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
  });

  it('refuses a key cache that would let a revoked key live past 5 s, and two JWT key sources', () => {
    expect(() => loadConfig({ AUTH_KEY_CACHE_MS: '10000' })).toThrow(/AUTH_KEY_CACHE_MS/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://id.example.com/jwks', AUTH_JWT_SECRET: 'x'.repeat(32) })).toThrow(/not both/);
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/at least 32/);
  });

  it('leaves the optional settings out when unset', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.DATABASE_SCHEMA).toBeUndefined();
    expect(config.WORKER_QUEUES).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', HOST: '', DATABASE_URL: '', WORKER_QUEUES: '', QUEUE_ADAPTER: '' });
    expect(config).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', QUEUE_ADAPTER: 'postgres' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.WORKER_QUEUES).toBeUndefined();
  });

  it('accepts IDEMPOTENCY_KEY_TTL_MS=0: a key then guards its job only until the job finishes', () => {
    expect(loadConfig({ IDEMPOTENCY_KEY_TTL_MS: '0' }).IDEMPOTENCY_KEY_TTL_MS).toBe(0);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' })).not.toHaveProperty('PATH');
  });

  it('coerces numeric settings from strings', () => {
    const config = loadConfig({
      PORT: '8080',
      EMBEDDED_PG_PORT: '5433',
      WORKER_CONCURRENCY: '4',
      LEASE_MS: '9000',
      HEARTBEAT_MS: '1500',
      REAPER_INTERVAL_MS: '250',
      MAX_TASKS_PER_JOB: '50',
      IDEMPOTENCY_KEY_TTL_MS: '3600000',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      EMBEDDED_PG_PORT: 5433,
      WORKER_CONCURRENCY: 4,
      LEASE_MS: 9000,
      HEARTBEAT_MS: 1500,
      REAPER_INTERVAL_MS: 250,
      MAX_TASKS_PER_JOB: 50,
      IDEMPOTENCY_KEY_TTL_MS: 3_600_000,
    });
  });

  it('keeps string settings as given', () => {
    const config = loadConfig({
      HOST: '127.0.0.1',
      DATA_DIR: '/var/lib/jobql',
      DATABASE_URL: 'postgres://localhost/jobql',
      DATABASE_SCHEMA: 'run_42',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      DATA_DIR: '/var/lib/jobql',
      DATABASE_URL: 'postgres://localhost/jobql',
      DATABASE_SCHEMA: 'run_42',
      LOG_LEVEL: 'debug',
    });
  });

  it.each<[string, string[]]>([
    ['default', ['default']],
    ['default,emails,reports', ['default', 'emails', 'reports']],
    [' default , emails ,  reports ', ['default', 'emails', 'reports']],
    ['default,,emails,', ['default', 'emails']],
    [' , ', []],
  ])('splits WORKER_QUEUES=%j into trimmed names', (value, queues) => {
    expect(loadConfig({ WORKER_QUEUES: value }).WORKER_QUEUES).toEqual(queues.map((name) => ({ name })));
  });

  it('reads name=slots in WORKER_QUEUES as a queue with slots of its own', () => {
    expect(loadConfig({ WORKER_QUEUES: 'default, images = 2,emails=15' }).WORKER_QUEUES).toEqual([
      { name: 'default' },
      { name: 'images', concurrency: 2 },
      { name: 'emails', concurrency: 15 },
    ]);
  });

  it.each([
    ['images=0', /"images=0": write a queue as name or name=slots/],
    ['images=two', /"images=two": write a queue as name or name=slots/],
    ['images=1.5', /"images=1.5": write a queue as name or name=slots/],
    ['images=2=3', /"images=2=3": write a queue as name or name=slots/],
    ['=2', /queue "" /],
    ['bad queue', /queue "bad queue" must start with a letter or digit/],
    ['default,images=2,default', /names a queue twice/],
  ])('refuses WORKER_QUEUES=%j', (value, message) => {
    expect(() => loadConfig({ WORKER_QUEUES: value })).toThrow(message);
  });

  it('reads QUEUE_RETENTION_MS as a retention per queue', () => {
    expect(loadConfig({ QUEUE_RETENTION_MS: 'reports=3600000, audit = 0' }).QUEUE_RETENTION_MS).toEqual(
      new Map([
        ['reports', 3_600_000],
        ['audit', 0],
      ]),
    );
  });

  it.each([
    ['reports', /"reports": write a queue as name=ms, ms a whole number from 0/],
    ['reports=-1', /"reports=-1": write a queue as name=ms/],
    ['reports=1h', /"reports=1h": write a queue as name=ms/],
    ['reports=1,reports=2', /names a queue twice/],
  ])('refuses QUEUE_RETENTION_MS=%j', (value, message) => {
    expect(() => loadConfig({ QUEUE_RETENTION_MS: value })).toThrow(message);
  });

  it.each(['memory', 'postgres', 'redis'])('accepts QUEUE_ADAPTER=%s', (adapter) => {
    expect(loadConfig({ QUEUE_ADAPTER: adapter, REDIS_URL: 'redis://localhost:6379' }).QUEUE_ADAPTER).toBe(adapter);
  });

  it('requires REDIS_URL with QUEUE_ADAPTER=redis', () => {
    expect(() => loadConfig({ QUEUE_ADAPTER: 'redis' })).toThrow(/^invalid configuration:\n {2}REDIS_URL: REDIS_URL is required/);
  });

  it('throws a readable error for PORT=abc', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^invalid configuration:\n {2}PORT: .+/);
  });

  it('throws a readable error for QUEUE_ADAPTER=nope', () => {
    expect(() => loadConfig({ QUEUE_ADAPTER: 'nope' })).toThrow(/^invalid configuration:\n {2}QUEUE_ADAPTER: .*"memory"/);
  });

  it('lists every bad setting, one a line', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'abc', QUEUE_ADAPTER: 'nope', LOG_LEVEL: 'loud' });
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    expect(lines.slice(1).map((line) => line.split(':')[0]!.trim())).toEqual(['PORT', 'QUEUE_ADAPTER', 'LOG_LEVEL']);
  });

  it.each<[string, string]>([
    ['PORT', '4000.5'],
    ['PORT', '-1'],
    ['WORKER_CONCURRENCY', '0'],
    ['LEASE_MS', '999'],
    ['REAPER_INTERVAL_MS', '99'],
    ['RECONCILE_INTERVAL_MS', '99'],
    ['SHUTDOWN_GRACE_MS', '-1'],
    ['POLL_INTERVAL_MS', '9'],
    ['SUBSCRIPTION_RESYNC_MS', '99'],
    ['MAX_TASKS_PER_JOB', '0'],
    ['IDEMPOTENCY_KEY_TTL_MS', '-1'],
    ['IDEMPOTENCY_KEY_TTL_MS', '1.5'],
    ['DATABASE_SCHEMA', 'Not-An-Identifier'],
  ])('rejects %s=%j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`  ${name}: `);
  });
});

describe('heartbeatMs', () => {
  it('is a third of LEASE_MS by default', () => {
    expect(heartbeatMs(loadConfig({}))).toBe(10_000);
    expect(heartbeatMs(loadConfig({ LEASE_MS: '9000' }))).toBe(3_000);
  });

  it('rounds the third down to whole milliseconds', () => {
    expect(heartbeatMs(loadConfig({ LEASE_MS: '10000' }))).toBe(3_333);
  });

  it('uses HEARTBEAT_MS when it is set', () => {
    expect(heartbeatMs(loadConfig({ LEASE_MS: '9000', HEARTBEAT_MS: '1234' }))).toBe(1_234);
  });
});

describe('roleProblem', () => {
  const remote = { DATABASE_URL: 'postgres://db/jobql' };

  it('accepts everything for one process with API and worker', () => {
    expect(roleProblem(loadConfig({ QUEUE_ADAPTER: 'memory' }), 'all')).toBeUndefined();
  });

  it.each(['api', 'worker'] as const)('refuses the memory adapter for a separate %s', (role) => {
    expect(roleProblem(loadConfig({ ...remote, QUEUE_ADAPTER: 'memory' }), role)).toMatch(/QUEUE_ADAPTER=memory/);
  });

  it.each(['api', 'worker'] as const)('refuses the embedded database for a separate %s', (role) => {
    expect(roleProblem(loadConfig({}), role)).toMatch(/needs DATABASE_URL/);
  });

  it.each(['api', 'worker'] as const)('accepts a shared database and adapter for a separate %s', (role) => {
    expect(roleProblem(loadConfig(remote), role)).toBeUndefined();
    expect(roleProblem(loadConfig({ ...remote, QUEUE_ADAPTER: 'redis', REDIS_URL: 'redis://r:6379' }), role)).toBeUndefined();
  });
});
