import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { rebuildTileCounts } from '../cases/tile-counts.ts';
import { createDb } from '../db/database.ts';
import { startApp } from './app-process.ts';
import { summarize } from './load.ts';
import { benchPassword, ensureBenchUser, ensureCustomers } from './minimal-seed.ts';
import { logIn } from './session.ts';

const total = 100_000;
const toRemind = 10_000;
const toClose = 10_000;
// The overview's load during the run: a steady stream, as from a busy office (about 100 agents
// each refreshing every five seconds), not a closed loop that would only measure queueing.
const overviewRate = 20;
const overviewConnections = 4;

// `npm run bench -- kontroll`: 100,000 waiting cases, of which a run reminds 10,000 and closes
// 10,000, timed, while the overview is under load (its p99 during the run is the figure to watch).
export async function runKontrollBench(opts: {
  databaseUrl: string;
  log: (s: string) => void;
}): Promise<Record<string, unknown>> {
  const { log } = opts;
  const db = createDb(opts.databaseUrl, 20);
  try {
    const user = await ensureBenchUser(db);
    const [customer] = await ensureCustomers(db, 1);
    if (!customer) throw new Error('no bench customer');
    const t0 = performance.now();
    await seedWaitingCases(db, user.id, customer);
    log(`seeded ${total} waiting cases in ${Math.round(performance.now() - t0)} ms`);
    await db
      .updateTable('case_settings')
      .set({
        kontroll_remind_enabled: true,
        kontroll_remind_days: 7,
        kontroll_close_enabled: true,
        kontroll_close_days: 14,
      })
      .execute();
    // Today's scheduled run counts as done, so the app under load does not start one of its own.
    await db.insertInto('kontroll_runs').values({ source: 'schedule', as_of: new Date() }).execute();

    const app = await startApp(opts.databaseUrl, { MAIL_SENDER: 'false' });
    try {
      const session = await logIn(app.baseUrl, 'BENCH', benchPassword);
      const path = '/cases?resp=any&kind=unfinished';
      const overviewLoad = (duration: number): autocannon.Options => ({
        url: `${app.baseUrl}${path}`,
        connections: overviewConnections,
        overallRate: overviewRate,
        duration,
        headers: { cookie: session.cookie },
      });
      const before = summarize(await autocannon(overviewLoad(10)));
      log(`overview before (${overviewRate} req/s): p99 ${before.p99Ms} ms, p50 ${before.p50Ms} ms`);

      // The overview under load for as long as the run lasts.
      let finish: (r: autocannon.Result) => void = () => {};
      const during = new Promise<autocannon.Result>((resolve) => {
        finish = resolve;
      });
      const load = autocannon(overviewLoad(600), (_error, result) => finish(result));
      // The run as a user starts it (Manage → Kontroll → Run), so it runs inside the app process
      // that serves the overview, as it does in production.
      const started = performance.now();
      const posted = await fetch(`${app.baseUrl}/kontroll`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: session.csrf }).toString(),
      });
      const runMs = performance.now() - started;
      load.stop();
      const overview = summarize(await during);
      const runId = /\/kontroll\/runs\/(\d+)/.exec(posted.headers.get('location') ?? '')?.[1];
      if (posted.status !== 303 || !runId) throw new Error(`POST /kontroll answered ${posted.status}`);
      const outcome = await db
        .selectFrom('kontroll_runs')
        .select(['reminded', 'closed', 'failed', 'error'])
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
      if (outcome.error) log(`kontroll reported: ${outcome.error}`);
      log(
        `kontroll: ${outcome.reminded} reminded, ${outcome.closed} closed, ${outcome.failed} failed in ${Math.round(runMs)} ms`,
      );
      log(`overview during the run: p99 ${overview.p99Ms} ms, p50 ${overview.p50Ms} ms, ${overview.requests} requests`);
      const result = {
        waitingCases: total,
        overviewPath: path,
        overviewRatePerSecond: overviewRate,
        reminded: outcome.reminded,
        closed: outcome.closed,
        failed: outcome.failed,
        runMs: Math.round(runMs),
        runUnder30s: runMs < 30_000,
        overviewBefore: before,
        overviewDuringRun: overview,
        overviewP99UnderRunMs: overview.p99Ms,
        overviewP99Under100ms: overview.p99Ms < 100,
      };
      return result;
    } finally {
      await app.stop();
    }
  } finally {
    await db.destroy();
  }
}

// Set-based: the cases and each one's first customer message in one statement each. Triggers are
// off for the session (bulk load), so the derived columns are written here directly.
async function seedWaitingCases(
  db: ReturnType<typeof createDb>,
  userId: number,
  customer: { id: number; contactId: number; contactEmail: string },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await sql`
      insert into cases (number, title, customer_id, contact_id, contact_name, contact_email, responsible_id,
        status_id, status_kind, case_type_id, source, created_by, created_at, updated_at, last_activity_at, waiting_since)
      select 'KB-' || lpad(g::text, 6, '0'), 'Väntande ärende ' || g, ${customer.id}, ${customer.contactId},
        'Kontakt Benchsson', ${customer.contactEmail}, ${userId},
        (select id from case_statuses where kind = 'waiting' order by position limit 1), 'waiting',
        (select id from case_types order by position limit 1), 'email', ${userId},
        w - interval '1 day', w, w, w
      from generate_series(1, ${total}) g,
        lateral (select date_trunc('milliseconds', now()) - case
          when g <= ${toRemind} then interval '8 days' + (g % 1000) * interval '1 minute'
          when g <= ${toRemind + toClose} then interval '15 days' + (g % 1000) * interval '1 minute'
          else interval '1 day' + (g % 1000) * interval '1 minute' end as w) t`.execute(trx);
    await sql`
      insert into thread_entries (case_id, side, author_name, author_email, body_html, message_id, created_at)
      select c.id, 'customer', 'Kontakt Benchsson', ${customer.contactEmail}, '<div>Hjälp, skrivaren fastnar.</div>',
        '<bench-' || c.id || '@kund.example>', c.created_at
      from cases c where c.number like 'KB-%'`.execute(trx);
  });
  // Triggers were off: the overview's tile counters are counted again to include these cases.
  await rebuildTileCounts(db);
  // A database in steady state: autovacuum has set the visibility map and statistics, which the
  // overview's index-only counts rely on.
  await sql`vacuum analyze cases`.execute(db);
  await sql`vacuum analyze thread_entries`.execute(db);
}
