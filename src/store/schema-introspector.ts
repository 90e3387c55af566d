import {
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  PostgresDialect,
  sql,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  type Kysely,
  type PostgresDialectConfig,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';

interface ColumnRow {
  readonly table: string;
  readonly tableKind: string;
  readonly column: string;
  readonly type: string;
  readonly typeSchema: string;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
  readonly description: string | null;
  readonly serialSequence: string | null;
}

/**
 * Kysely's own Postgres introspector reads every schema of the database and calls
 * `has_schema_privilege` with each schema's *name*: when another deployment (or test) drops its
 * schema while that runs, the name no longer resolves and the statement fails with "schema does
 * not exist". Its only caller here is the migrator, which asks whether its bookkeeping tables
 * exist in one schema, so this one looks in that schema alone and resolves nothing by name.
 */
export class SchemaIntrospector implements DatabaseIntrospector {
  // The introspector is handed the untyped database it inspects (Kysely's own signature).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(private readonly db: Kysely<any>, private readonly schema: string) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace`.execute(this.db);
    return rows.map((row) => ({ name: row.name }));
  }

  async getTables(options: DatabaseMetadataOptions = { withInternalKyselyTables: false }): Promise<TableMetadata[]> {
    const internal = options.withInternalKyselyTables ? sql`` : sql`and c.relname not in (${DEFAULT_MIGRATION_TABLE}, ${DEFAULT_MIGRATION_LOCK_TABLE})`;
    const { rows } = await sql<ColumnRow>`
      select c.relname as "table", c.relkind as "tableKind", a.attname as "column",
             typ.typname as "type", dtns.nspname as "typeSchema",
             a.attnotnull as "notNull", a.atthasdef as "hasDefault",
             col_description(a.attrelid, a.attnum) as "description",
             pg_get_serial_sequence(format('%I.%I', ns.nspname, c.relname), a.attname) as "serialSequence"
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
      join pg_catalog.pg_type typ on typ.oid = a.atttypid
      join pg_catalog.pg_namespace dtns on dtns.oid = typ.typnamespace
      where ns.nspname = ${this.schema} and c.relkind in ('r', 'v', 'p')
        and a.attnum >= 0 and not a.attisdropped ${internal}
      order by c.relname, a.attnum`.execute(this.db);
    const tables = new Map<string, { name: string; schema: string; isView: boolean; columns: TableMetadata['columns'][number][] }>();
    for (const row of rows) {
      let table = tables.get(row.table);
      if (!table) {
        table = { name: row.table, schema: this.schema, isView: row.tableKind === 'v', columns: [] };
        tables.set(row.table, table);
      }
      table.columns.push({
        name: row.column,
        dataType: row.type,
        dataTypeSchema: row.typeSchema,
        isNullable: !row.notNull,
        hasDefaultValue: row.hasDefault,
        isAutoIncrementing: row.serialSequence !== null,
        ...(row.description !== null ? { comment: row.description } : {}),
      });
    }
    return [...tables.values()];
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** Postgres, with `db.introspection` confined to the schema the deployment lives in. */
export class SchemaScopedPostgresDialect extends PostgresDialect {
  constructor(config: PostgresDialectConfig, private readonly schema: string) {
    super(config);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's own signature
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SchemaIntrospector(db, this.schema);
  }
}
