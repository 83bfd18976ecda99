import { randomBytes } from 'node:crypto';
import type { Db } from './database.ts';

// Returns the named secret, creating it on first use. Every instance sharing the database
// reads the same value, so sessions and signatures work across instances and restarts.
export async function loadSecret(db: Db, name: string): Promise<string> {
  const existing = await db.selectFrom('app_secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (existing) return existing.value;
  // Two instances starting at once: the first insert wins and both read its value.
  await db
    .insertInto('app_secrets')
    .values({ name, value: randomBytes(48).toString('base64url') })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('app_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return row.value;
}
