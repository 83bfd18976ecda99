import { type Insertable, type RawBuilder, sql } from 'kysely';
import { type Db, preparedAtEnd } from '../db/database.ts';
import type { ThreadEntriesTable } from '../db/schema.ts';

export type NewThreadEntry = Insertable<ThreadEntriesTable>;

// With firstEntrySql below, the one place thread entries are inserted: replies, customer
// mail, bounces, Kontroll's and the approval chain's system lines. Set-wise, for Kontroll's
// batches; returns ids in input order.
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

// A case's first entry, as written with the case itself (the New case form, the API).
export type FirstEntry = Pick<NewThreadEntry, 'side' | 'user_id' | 'author_name' | 'author_email' | 'body_html'>;

// addThreadEntry as a part of another domain's statement (a data-modifying CTE) that inserts the
// case it belongs to: caseIds is a query yielding that case's id. One round trip instead of two,
// and the thread_entries columns stay written here (src/cases/cases.ts, createCaseRecord).
// caseSearch is the entry's words, for the case's insert to give as its search_vector: the
// insert says so (casedesk.entry_indexed_with_case), and the entry's trigger then leaves the new
// row alone instead of updating it (migration 20261206_0300). Both parts go in the same statement.
export function firstEntrySql(
  caseIds: RawBuilder<unknown>,
  entry: FirstEntry,
): { insert: RawBuilder<unknown>; caseSearch: RawBuilder<string> } {
  return {
    insert: sql`insert into thread_entries (case_id, side, user_id, author_name, author_email, body_html)
    select c.id, ${entry.side}, ${entry.user_id ?? null}::int, ${entry.author_name}, ${entry.author_email ?? null}, ${entry.body_html}
      from (${caseIds}) as c (id)
     where set_config('casedesk.entry_indexed_with_case', c.id::text, true) is not null`,
    caseSearch: sql<string>`thread_entry_search_document(${entry.body_html})`,
  };
}
