import type { Insertable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ThreadEntriesTable } from '../db/schema.ts';

export type NewThreadEntry = Insertable<ThreadEntriesTable>;

// The one place thread entries are inserted: replies, customer mail, bounces, Kontroll's and the
// approval chain's system lines. Set-wise, for Kontroll's batches; returns ids in input order.
export async function addThreadEntries(db: Db, entries: NewThreadEntry[]): Promise<{ id: string; case_id: number }[]> {
  if (!entries.length) return [];
  return db.insertInto('thread_entries').values(entries).returning(['id', 'case_id']).execute();
}

export async function addThreadEntry(db: Db, entry: NewThreadEntry): Promise<{ id: string; case_id: number }> {
  const [added] = await addThreadEntries(db, [entry]);
  if (!added) throw new Error('The thread entry was not stored');
  return added;
}
