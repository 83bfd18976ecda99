import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { rebuildTileCounts } from '../cases/tile-counts.ts';
import { loadConfig } from '../config.ts';
import { createDb, type Db } from '../db/database.ts';
import { todayIn } from '../i18n/i18n.ts';
import { ensureBenchUser } from './minimal-seed.ts';
import { type SqlTiming, timeTilesRecountSql, timeTilesSql } from './sql.ts';

// `npm run bench -- tiles`: what the overview's tiles cost per load at 30,000 and at 100,000
// unfinished cases: the tiles as the overview reads them (loadOverviewCounts, from the counters the
// trigger keeps) beside the count over every unfinished case they replaced. The database's own
// unfinished cases first; then waiting cases are added up to each size. They stay: deleting
// cases is slow here for reasons of its own (each deleted case is looked for in
// cases.previous_case_id, which has no index), so give it a copy of the bench database.
const sizes = [30_000, 100_000];

const unfinished = async (db: Db) =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from cases where status_kind <> 'closed'`.execute(db)).rows[0]?.n,
  );

export async function runTilesBench(opts: { databaseUrl: string; log: (s: string) => void }) {
  const { log } = opts;
  const config = loadConfig({ ...process.env, DATABASE_URL: opts.databaseUrl });
  const db = createDb(opts.databaseUrl, 4);
  const day = { today: todayIn(config.timeZone), timeZone: config.timeZone };
  const rows: { unfinished: number; tiles: SqlTiming; recount: SqlTiming }[] = [];
  try {
    const user = await ensureBenchUser(db);
    // an agent with cases of their own, when the database has the synthetic ones
    const agent = (await db.selectFrom('users').select('id').where('login', '=', 'KALLE').executeTakeFirst()) ?? user;
    for (const size of sizes) {
      const have = await unfinished(db);
      if (have < size) {
        const t0 = performance.now();
        await addWaitingCases(db, user.id, size - have);
        log(`added ${size - have} waiting cases in ${Math.round(performance.now() - t0)} ms`);
      }
      const n = await unfinished(db);
      const tiles = await timeTilesSql(db, agent.id, day);
      const recount = await timeTilesRecountSql(db, agent.id, day);
      log(
        `${n} unfinished: tiles (counters) median ${tiles.medianMs.toFixed(2)} ms, p90 ${tiles.p90Ms.toFixed(2)} ms; ` +
          `count over unfinished cases median ${recount.medianMs.toFixed(2)} ms, p90 ${recount.p90Ms.toFixed(2)} ms`,
      );
      rows.push({ unfinished: n, tiles, recount });
    }
  } finally {
    await db.destroy();
  }
  return { today: day.today, runs: rows };
}

// Set-based with triggers off (a bulk load), then the counters counted again.
async function addWaitingCases(db: Db, userId: number, count: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql`
      insert into cases (number, title, responsible_id, status_id, status_kind, case_type_id, created_by,
        created_at, updated_at, last_activity_at, waiting_since, due_date)
      select 'KT-' || (select count(*) from cases where number like 'KT-%') + g, 'Väntande ärende ' || g,
        case when g % 3 = 0 then null else ${userId}::integer end,
        (select id from case_statuses where kind = 'waiting' order by position limit 1), 'waiting',
        (select id from case_types order by position limit 1), ${userId},
        now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
        current_date - (g % 60)
      from generate_series(1, ${count}) g`.execute(trx);
  });
  await rebuildTileCounts(db);
  await sql`vacuum analyze cases`.execute(db);
}
