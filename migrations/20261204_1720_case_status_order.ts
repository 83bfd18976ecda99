import { type Kysely, sql } from 'kysely';

// Sorting the overview by status (issue 16): each status's newest cases, walked status by status
// in the list's order (src/cases/overview.ts), instead of sorting every case by its status.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index cases_status_order on cases (status_id, id desc)`.execute(db);
}
