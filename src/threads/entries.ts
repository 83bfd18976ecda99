import type { Insertable } from 'kysely';
import { type Db, preparedAtEnd } from '../db/database.ts';
import type { ThreadEntriesTable } from '../db/schema.ts';

export type NewThreadEntry = Insertable<ThreadEntriesTable>;

// The one place thread entries are inserted: replies, customer mail, bounces, Kontroll's and the
// approval chain's system lines. Set-wise, for Kontroll's batches; returns ids in input order.
export async function addThreadEntries(db: Db, entries: NewThreadEntry[]): Promise<{ id: string; case_id: number }[]> {
  if (!entries.length) return [];
  const insert = db.insertInto('thread_entries').values(entries).returning(['id', 'case_id']);
  // One entry (a reply, a customer's mail) is the hot path: prepared once per connection. A batch
  // is a text of its own for every size, not worth keeping.
  return (entries.length === 1 ? insert.modifyEnd(preparedAtEnd) : insert).execute();
}

export async function addThreadEntry(db: Db, entry: NewThreadEntry): Promise<{ id: string; case_id: number }> {
  const [added] = await addThreadEntries(db, [entry]);
  if (!added) throw new Error('The thread entry was not stored');
  return added;
}
