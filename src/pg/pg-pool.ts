import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * The pg pool under the store's Kysely instance, and under the lease keeper's thread, which uses it
 * without Kysely (a thread loading Kysely costs 12 MB of RSS; pg alone, 22 MB over an empty thread).
 */

export const PREPARED_MARK = '/* prepared */';

/**
 * A named statement runs its generic plan from the first execution. By default PostgreSQL plans
 * the first five executions afresh with their values, and keeps doing so when the generic plan's
 * estimate looks no better; our prepared statements take their rows as one JSON or array value,
 * and planning with the value folded its parsing into the plan: a 10,000-task submission (1.4 MB
 * of task columns) spends about 80 ms more in a custom plan than in the generic one. Unnamed
 * statements (everything else) are planned once with their values whatever this says.
 */
const PLAN_CACHE_MODE = 'force_generic_plan';

export interface PoolOptions {
  readonly connectionString: string;
  /** A schema to put first on the search path: each test file gets its own. */
  readonly schema?: string;
  readonly maxConnections?: number;
  /** Every statement on the pool's connections is cancelled after this long (PostgreSQL's `statement_timeout`). */
  readonly statementTimeoutMs?: number;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    // A server that stopped answering fails a checkout after 10 s instead of never, and TCP
    // keepalive notices a peer that vanished without closing its connections.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    options: [
      ...(options.schema ? [`-c search_path=${options.schema},public`] : []),
      `-c plan_cache_mode=${PLAN_CACHE_MODE}`,
      ...(options.statementTimeoutMs ? [`-c statement_timeout=${options.statementTimeoutMs}`] : []),
    ].join(' '),
  });
  // An idle client whose server went away emits 'error'; the pool drops it and makes a new one.
  pool.on('error', () => {});
  // A checked-out client has no listener of the pool's, and one whose connection dies between
  // statements (pg_terminate_backend, a server restart) emits 'error': unheard, that would kill
  // the process. The statement in flight fails anyway, and the pool discards the client when it
  // comes back unqueryable.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    prepareMarkedStatements(client);
  });
  return pool;
}

function statementName(text: string): string {
  return `jq_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
}

/**
 * Kysely and the lease keeper hand the client plain text and values; a marked text goes to pg as a
 * named statement. A DDL change to a table a prepared statement returns rows of (a rolling
 * upgrade's migration) fails it with "cached plan must not change result type": the connection
 * then forgets the statement and runs it again, prepared afresh.
 */
function prepareMarkedStatements(client: pg.PoolClient): void {
  // The client's own query, whatever form it is called in (text and values, a config, a callback).
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult>;
  const connection = (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection;
  const prepared = async (text: string, values: unknown): Promise<pg.QueryResult> => {
    const name = statementName(text);
    try {
      return await query({ name, text, values });
    } catch (error) {
      if ((error as { code?: string }).code !== '0A000' || !/cached plan/.test(String((error as Error).message))) throw error;
      // Inside a transaction the failure aborted it and DEALLOCATE fails too: the caller gets the
      // error, and the connection keeps knowing the statement exists until a DEALLOCATE succeeds.
      await query(`deallocate ${name}`).catch(() => {
        throw error;
      });
      delete connection.parsedStatements[name];
      return query({ name, text, values });
    }
  };
  client.query = ((...args: unknown[]) => {
    const [text, values, callback] = args;
    if (typeof text !== 'string' || !text.startsWith(PREPARED_MARK) || typeof callback === 'function' || typeof values === 'function') {
      return query(...args);
    }
    return prepared(text, values);
  }) as typeof client.query;
}
