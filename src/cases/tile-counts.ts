import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

// The overview's statistic tiles (Mine, Unassigned, Overdue, Waiting) read counters in the table
// case_tile_counts (countCaseTiles in overview.ts) instead of counting the unfinished cases on
// every overview load; that count grew with the unfinished cases (42-49 ms at 100,000) and, with
// the overview loaded twenty times a second, took both cores from Kontroll.
//
// The counters are kept by the database trigger cases_count_tiles (migration
// 20261204_0440_case_tile_counts), the MIRROR OF THE CASE LIFECYCLE for the tiles: a case counts
// as unfinished while its status kind is not 'closed', as lifecycle.ts decides it and
// applyCaseEvent writes it; its responsible and due date are counted as the case row holds them.
// Whatever writes cases (applyCaseEvent, quick and header edits, new cases, mail ingest, Kontroll's
// set-wise batches, merges, an administrator changing a status's kind, a second instance) moves the
// counters in the same transaction, so the tiles are exact right after the commit, everywhere.
// A new tile over other columns of cases needs a tally there and a line in countCaseTiles; a new
// status kind that counts as finished needs the trigger's `status_kind <> 'closed'` changed.
//
// The trigger runs once per statement over its transition tables, so Kontroll's update of a
// batch adds one delta per counter, not one per case. Each transaction adds to rows of its own
// (slot = its backend's pid), so agents' concurrent edits never wait for each other on a counter;
// the job below folds those rows into one per counter.

// Adds every backend's counter rows into the folded row (slot 0) and drops counters that came to
// zero, skipping rows a running transaction still holds. Returns how many rows it folded.
export async function foldTileCounts(db: Db): Promise<number> {
  const { rows } = await sql<{ folded: number }>`select case_tile_counts_fold() as folded`.execute(db);
  return rows[0]?.folded ?? 0;
}

// Counts all cases afresh, for writers that bypass the trigger (bulk loads with
// session_replication_role = replica). Writers to cases wait while it counts.
export async function rebuildTileCounts(db: Db): Promise<void> {
  await sql`select case_tile_counts_rebuild()`.execute(db);
}
