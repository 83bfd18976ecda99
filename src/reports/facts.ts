import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

// case_report_facts (migration 20261205_0500) is kept by triggers on cases and thread_entries in
// the same transaction as the change. This builds it afresh, set-wise, for writers that bypass
// triggers (bulk loads with session_replication_role = replica). Writers wait while it runs.
export async function rebuildReportFacts(db: Db): Promise<void> {
  await sql`select case_report_facts_rebuild()`.execute(db);
}

// The monthly time counts (case_report_times, migration 20261205_0700) are added to per database
// connection, so concurrent writers never wait on one count; this folds them back into one row
// per count, skipping rows a running transaction holds. Returns how many rows it folded.
export async function foldReportTimes(db: Db): Promise<number> {
  const { rows } = await sql<{ folded: number }>`select case_report_times_fold() as folded`.execute(db);
  return rows[0]?.folded ?? 0;
}
