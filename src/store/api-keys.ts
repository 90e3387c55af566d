import type { Db } from './database.js';
import type { ApiKeyRecord } from './records.js';

/** The API keys: made and revoked by an operator (`npm run keys`), looked up on each request. */

export async function insertApiKey(
  db: Db,
  key: { readonly id: string; readonly tenant: string; readonly name: string | null; readonly scopes: readonly string[]; readonly prefix: string; readonly secretHash: Buffer },
): Promise<ApiKeyRecord> {
  return db
    .insertInto('apiKeys')
    .values({ id: key.id, tenantId: key.tenant, name: key.name, scopes: [...key.scopes], prefix: key.prefix, secretHash: key.secretHash })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every key, or one tenant's, oldest first, revoked ones included. */
export async function listApiKeys(db: Db, tenant?: string): Promise<ApiKeyRecord[]> {
  let query = db.selectFrom('apiKeys').selectAll();
  if (tenant !== undefined) query = query.where('tenantId', '=', tenant);
  return query.orderBy('createdAt').orderBy('id').execute();
}

/** Revokes the key; undefined when there is no key of that id. A revoked key stays revoked at its first time. */
export async function revokeApiKey(db: Db, id: string, now: Date): Promise<ApiKeyRecord | undefined> {
  await db.updateTable('apiKeys').set({ revokedAt: now }).where('id', '=', id).where('revokedAt', 'is', null).execute();
  return db.selectFrom('apiKeys').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * The key whose secret hashes to `secretHash`, if it is not revoked, with its `lastUsedAt` moved
 * to `now` in the same statement: a lookup is also the record that the key was used.
 */
export async function useApiKey(db: Db, secretHash: Buffer, now: Date): Promise<ApiKeyRecord | undefined> {
  return db
    .updateTable('apiKeys')
    .set({ lastUsedAt: now })
    .where('secretHash', '=', secretHash)
    .where('revokedAt', 'is', null)
    .returningAll()
    .executeTakeFirst();
}
