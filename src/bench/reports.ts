import { performance } from 'node:perf_hooks';
import { createDb } from '../db/database.ts';
import { syntheticAgentPassword } from '../demo/synthetic-data.ts';
import { startApp } from './app-process.ts';
import { percentile } from './report.ts';
import { logIn } from './session.ts';

// `npm run bench -- reports`: how long GET /reports takes, as KALLE (a seeded agent), one request
// at a time, for the periods a support lead looks at: this year for the whole team and for their
// own cases, and last month. Run it on the seeded million-case database (DATABASE_URL); the
// issue's target is 300 ms for a one-year period. Reads only.
const views = [
  { name: 'this year, whole team', query: 'period=this_year&resp=any' },
  { name: 'this year, own cases', query: 'period=this_year&resp=me' },
  { name: 'last month, whole team', query: 'period=last_month&resp=any' },
  { name: 'this year, whole team, one customer', query: 'period=this_year&resp=any&customer=CUSTOMER' },
  { name: 'this year, whole team, one case type', query: 'period=this_year&resp=any&type=TYPE' },
];
const warmups = 3;
const runs = Number(process.env.BENCH_REPORT_RUNS || 15);

export async function runReportsBench(opts: { databaseUrl: string; log: (s: string) => void }) {
  const { log } = opts;
  const db = createDb(opts.databaseUrl, 1);
  const type = await db.selectFrom('case_types').select('id').orderBy('id').executeTakeFirst();
  const customer = await db.selectFrom('customers').select('number').orderBy('id').executeTakeFirst();
  const cases = await db
    .selectFrom('case_report_facts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirst();
  await db.destroy();
  log(`${Number(cases?.n ?? 0)} cases; ${warmups} warm-up and ${runs} timed requests per view`);
  const app = await startApp(opts.databaseUrl);
  const rows: { view: string; medianMs: number; p90Ms: number; maxMs: number }[] = [];
  try {
    const session = await logIn(app.baseUrl, 'KALLE', syntheticAgentPassword);
    for (const view of views) {
      const url = `${app.baseUrl}/reports?${view.query.replace('TYPE', String(type?.id ?? '')).replace('CUSTOMER', encodeURIComponent(customer?.number ?? ''))}`;
      const times: number[] = [];
      for (let i = 0; i < warmups + runs; i++) {
        const t0 = performance.now();
        const response = await fetch(url, { headers: { cookie: session.cookie } });
        const body = await response.text();
        if (response.status !== 200 || !body.includes('<svg')) {
          throw new Error(`GET /reports?${view.query} gave ${response.status}:\n${app.output()}`);
        }
        if (i >= warmups) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const row = {
        view: view.name,
        medianMs: Math.round(percentile(times, 0.5)),
        p90Ms: Math.round(percentile(times, 0.9)),
        maxMs: Math.round(times[times.length - 1] ?? 0),
      };
      log(`${row.view}: median ${row.medianMs} ms, p90 ${row.p90Ms} ms, max ${row.maxMs} ms`);
      rows.push(row);
    }
  } finally {
    await app.stop();
  }
  return { runs, views: rows };
}
