import type { LogEvent } from 'kysely';
import type { Logger } from 'pino';
import { loadConfig, type ProcessRole } from '../../src/config.js';
import { startJobQl, type JobQl } from '../../src/runtime/start-jobql.js';
import type { AnyTaskDefinition } from '../../src/tasks/define-task.js';
import type { ScheduleDefinition } from '../../src/service/define-schedule.js';
import { createDatabase, type Db } from '../../src/store/database.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from './test-database.js';

export interface TestApp extends JobQl {
  readonly schema: string;
  /** The app's tables, through a pool of the test's own: what a test reads or arranges behind the API's back. */
  readonly db: Db;
}

/** The real server, on a free port, with a worker, in a fresh schema of the test database. */
export async function startTestApp(
  options: {
    env?: Record<string, string>;
    tasks?: readonly AnyTaskDefinition[];
    schedules?: readonly ScheduleDefinition[];
    onQuery?: (event: LogEvent) => void;
    /** The process's logger instead of one at TEST_LOG_LEVEL (silent by default). */
    logger?: Logger;
    /** Join an existing app's schema (a second process of one deployment); stop() then keeps it. */
    schema?: string;
    /** Default `all`; `api` runs no worker, so nothing but requests touches the database. */
    role?: ProcessRole;
  } = {},
): Promise<TestApp> {
  const ownsSchema = options.schema === undefined;
  const schema = options.schema ?? newSchemaName('e2e');
  const config = loadConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    ...options.env,
  });
  const app = await startJobQl({
    config,
    ...(options.role ? { role: options.role } : {}),
    ...(options.tasks ? { tasks: options.tasks } : {}),
    ...(options.schedules ? { schedules: options.schedules } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 2 });
  return {
    ...app,
    schema,
    db,
    async stop() {
      await app.stop();
      await db.destroy();
      if (ownsSchema) await dropSchema(schema);
    },
  };
}
