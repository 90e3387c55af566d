import { randomBytes } from 'node:crypto';
import type { Db } from './database.js';

/**
 * The secret named `name`, made (32 random bytes) by whichever process asks first: every process
 * that shares the database signs and verifies with the same one.
 */
export async function signingSecret(db: Db, name: string): Promise<Buffer> {
  await db
    .insertInto('signingSecrets')
    .values({ name, secret: randomBytes(32) })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('signingSecrets').select('secret').where('name', '=', name).executeTakeFirstOrThrow();
  return row.secret;
}
