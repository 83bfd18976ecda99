import { type CompiledQuery, sql } from 'kysely';
import { buildOverviewQuery, type Day, loadOverviewCounts, parseOverviewFilter } from '../cases/overview.ts';
import type { Db } from '../db/database.ts';

export type SqlTiming = { medianMs: number; p90Ms: number; runs: number };

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

// Runs `once` one at a time and returns the wall times (parse, plan, execute and transfer, as
// the app sees them): at least minRuns runs and minMs, but a slow query stops after maxMs with
// three runs. A few untimed warm-up runs first.
async function timeRepeatedly(
  once: () => Promise<unknown>,
  minRuns = 20,
  minMs = 2_000,
  maxMs = 20_000,
): Promise<SqlTiming> {
  const warmUp = performance.now();
  for (let i = 0; i < 3 && performance.now() - warmUp < 3_000; i++) await once();
  const times: number[] = [];
  const started = performance.now();
  for (;;) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
    const elapsed = performance.now() - started;
    if (
      (times.length >= minRuns && elapsed >= minMs) ||
      (times.length >= 3 && elapsed >= maxMs) ||
      times.length >= 2_000
    )
      break;
  }
  times.sort((a, b) => a - b);
  return { medianMs: percentile(times, 0.5), p90Ms: percentile(times, 0.9), runs: times.length };
}

// Waits until no other session has run a query in this database for a second: requests a load
// run left behind (the app finishes them after the client has gone) must not slow down the next
// measurement, nor change data after it was read.
export async function waitForIdleDatabase(db: Db, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let idleSince = 0;
  while (Date.now() < deadline) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state in ('active', 'idle in transaction') and pid <> pg_backend_pid()`.execute(
      db,
    );
    if (rows[0]?.n) idleSince = 0;
    else if (!idleSince) idleSince = Date.now();
    else if (Date.now() - idleSince >= 1_000) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// The overview's list query for a query string, exactly as the /cases route builds it.
export function compileOverviewQuery(db: Db, query: Record<string, string>, userId: number, day: Day): CompiledQuery {
  return buildOverviewQuery(db, parseOverviewFilter(query), { id: userId }, day).compile();
}

export async function timeOverviewSql(db: Db, query: Record<string, string>, userId: number, day: Day) {
  const compiled = compileOverviewQuery(db, query, userId, day);
  return {
    sql: compiled.sql,
    parameters: compiled.parameters,
    ...(await timeRepeatedly(() => db.executeQuery(compiled))),
  };
}

// The tiles above the list, which every overview page also counts.
export async function timeTilesSql(db: Db, userId: number, day: Day): Promise<SqlTiming> {
  return timeRepeatedly(() => loadOverviewCounts(db, { id: userId }, day, { page: true }));
}

// The tile numbers counted over every unfinished case, as the overview did before the counters
// (migration 20261204_0440_case_tile_counts): the figure the counters are compared with.
export async function timeTilesRecountSql(db: Db, userId: number, day: Day): Promise<SqlTiming> {
  return timeRepeatedly(() =>
    sql`select
        count(*) filter (where responsible_id = ${userId}) as mine,
        count(*) filter (where responsible_id is null) as unassigned,
        count(*) filter (where due_date < ${day.today}::date) as overdue,
        count(*) filter (where status_kind = 'waiting') as waiting
      from cases where status_kind <> 'closed'`.execute(db),
  );
}
