import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

// case_report_facts (migration 20261205_0500) is kept by triggers on cases and thread_entries in
// the same transaction as the change. This builds it afresh, set-wise, for writers that bypass
// triggers (bulk loads with session_replication_role = replica). Writers wait while it runs.
export async function rebuildReportFacts(db: Db): Promise<void> {
  await sql`select case_report_facts_rebuild()`.execute(db);
}
