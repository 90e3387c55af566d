import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createDatabase, type Db } from '../../src/store/database.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { PREPARED } from '../../src/pg/prepared-statement.js';

describe('statements marked PREPARED', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    // One connection: what is prepared on it is what the next statement sees.
    db = createDatabase({ connectionString: TEST_DATABASE_URL, schema: database.schema, maxConnections: 1 });
    await sql`create table probe (id int primary key)`.execute(db);
    await sql`insert into probe values (1), (2)`.execute(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  const marked = (): Promise<{ rows: Record<string, unknown>[] }> => sql<Record<string, unknown>>`${PREPARED} select * from probe where id = any(${[1, 2]}::int[]) order by id`.execute(db);

  it('are prepared once per connection, and unmarked ones are not', async () => {
    await marked();
    await marked();
    await sql`select * from probe where id = ${1}`.execute(db);
    const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
    expect(rows.map((row) => row.statement)).toEqual([expect.stringContaining('/* prepared */ select * from probe')]);
  });

  it('run again, prepared afresh, after a migration changed the rows they return', async () => {
    expect((await marked()).rows).toEqual([{ id: 1 }, { id: 2 }]);
    await sql`alter table probe add column label text default 'x'`.execute(db);
    expect((await marked()).rows).toEqual([
      { id: 1, label: 'x' },
      { id: 2, label: 'x' },
    ]);
    expect((await marked()).rows).toHaveLength(2);
  });

  it('inside a transaction, answer the cached-plan error itself: the transaction cannot run them again', async () => {
    await marked();
    await sql`alter table probe add column note text`.execute(database.db);
    await expect(db.transaction().execute((trx) => sql`${PREPARED} select * from probe where id = any(${[1, 2]}::int[]) order by id`.execute(trx))).rejects.toThrow(
      /cached plan must not change result type/,
    );
    expect((await marked()).rows[0]).toEqual({ id: 1, label: 'x', note: null });
  });

  it('go to the driver as written, while other statements are snake-cased; the rows of both are camel-cased', async () => {
    // An identifier of Kysely's is what the snake-case pass renames: in a marked statement it stays.
    const markedText = sql`${PREPARED} select id as ${sql.id('markedId')} from probe`.compile(db).sql;
    const plainText = sql`select id as ${sql.id('plainId')} from probe`.compile(db).sql;
    expect(markedText).toContain('"markedId"');
    expect(plainText).toContain('"plain_id"');
    expect(db.selectFrom('jobs').select('taskCount').compile().sql).toBe('select "task_count" from "jobs"');
    const { rows } = await sql<Record<string, unknown>>`${PREPARED} select id as first_id from probe where id = ${1}::int`.execute(db);
    expect(rows).toEqual([{ firstId: 1 }]);
  });

  it('fail as any statement does on an error that is not about the cached plan', async () => {
    await expect(sql`${PREPARED} select 1 / ${0}::int`.execute(db)).rejects.toThrow(/division by zero/);
    expect((await marked()).rows).toHaveLength(2);
  });
});
