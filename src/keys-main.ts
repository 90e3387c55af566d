import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { openConfiguredDatabase } from './runtime/configured-database.js';
import { createConfiguredAccess } from './runtime/configured-access.js';
import { JobQlError } from './errors/index.js';
import type { ApiKeyRecord } from './access/index.js';

/**
 * `npm run keys -- create --tenant <t> --scopes <s,…> [--name <n>]`: makes an API key and prints
 * it on the last line, once (only its hash is kept); `list [--tenant <t>]`; `revoke <id>`. On the
 * database of DATABASE_URL (or the embedded one, when no other process holds it).
 */
const USAGE = `usage:
  npm run keys -- create --tenant <tenant> --scopes <read,submit,retry,cancel,admin> [--name <name>]
  npm run keys -- list [--tenant <tenant>]
  npm run keys -- revoke <key id>`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tenant: { type: 'string' }, scopes: { type: 'string' }, name: { type: 'string' } },
});
const [command, ...rest] = positionals;

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' });
const database = await openConfiguredDatabase(config, { log: () => undefined });
const access = createConfiguredAccess(config, database.db);

const describe = (key: ApiKeyRecord): string =>
  [
    key.id,
    `tenant=${key.tenantId}`,
    `scopes=${key.scopes.join(',')}`,
    `prefix=${key.prefix}…`,
    `name=${key.name ?? '-'}`,
    `created=${key.createdAt.toISOString()}`,
    `last-used=${key.lastUsedAt?.toISOString() ?? 'never'}`,
    key.revokedAt ? `REVOKED ${key.revokedAt.toISOString()}` : 'active',
  ].join('  ');

let exitCode = 0;
try {
  if (command === 'create' && rest.length === 0 && values.tenant !== undefined && values.scopes !== undefined) {
    const { key, secret } = await access.createKey({ tenant: values.tenant, scopes: values.scopes.split(','), ...(values.name ? { name: values.name } : {}) });
    console.log(describe(key));
    console.log('the key, shown this once (only its hash is kept):');
    console.log(secret);
  } else if (command === 'list' && rest.length === 0) {
    const keys = await access.listKeys(values.tenant);
    for (const key of keys) console.log(describe(key));
    if (keys.length === 0) console.log('no keys');
  } else if (command === 'revoke' && rest.length === 1 && rest[0] !== undefined) {
    console.log(describe(await access.revokeKey(rest[0])));
  } else {
    console.error(USAGE);
    exitCode = 2;
  }
} catch (error) {
  if (!(error instanceof JobQlError)) throw error;
  console.error(`${error.code}: ${error.message}`);
  exitCode = 2;
} finally {
  await database.close();
}
process.exit(exitCode);
