import autocannon from 'autocannon';
import { createApiToken } from '../api/tokens.ts';
import { createDb } from '../db/database.ts';
import { startApp } from './app-process.ts';
import { type LoadResult, summarize } from './load.ts';

// `npm run bench -- api`: the REST API at 10 connections on the database given (DATABASE_URL,
// the seeded million cases): KALLE's own cases (GET /api/v1/cases?responsible=me) and creating
// a case (POST /api/v1/cases). The targets: 500 and 200 requests a second. Changes
// data: adds an API token for KALLE and the cases it creates. The rate limit is raised so that
// it counts every request (its cost is measured) without refusing any.
const seconds = Number(process.env.BENCH_SECONDS || 10);

export async function runApiBench(opts: { databaseUrl: string; log: (s: string) => void }) {
  const { log } = opts;
  const db = createDb(opts.databaseUrl, 1);
  const user = await db.selectFrom('users').selectAll().where('login', '=', 'KALLE').executeTakeFirstOrThrow();
  const customer = await db
    .selectFrom('customers')
    .select('id')
    .where('active', '=', true)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const { token } = await createApiToken(db, user, { name: 'bench', access: 'write', expires_in_days: 7 });
  await db.destroy();
  // BENCH_PROCESSES=2: two web processes (WEB_CONCURRENCY), as the overview bench also measures
  const processes = process.env.BENCH_PROCESSES || '1';
  const app = await startApp(opts.databaseUrl, {
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    MAIL_SENDER: 'false',
    WEB_CONCURRENCY: processes,
  });
  log(`${processes} web process(es)`);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const results: { scenario: string; connections: number; result: LoadResult }[] = [];
  try {
    const probe = await fetch(`${app.baseUrl}/api/v1/cases?responsible=me`, { headers });
    const body = (await probe.json()) as { data?: unknown[] };
    if (probe.status !== 200) throw new Error(`GET /api/v1/cases answered ${probe.status}: ${JSON.stringify(body)}`);
    log(`KALLE's unfinished cases, first page: ${body.data?.length ?? 0} rows`);
    let n = 0;
    const scenarios = [
      {
        scenario: 'GET /api/v1/cases?responsible=me',
        request: { method: 'GET' as const, path: '/api/v1/cases?responsible=me' },
      },
      {
        scenario: 'POST /api/v1/cases',
        request: {
          method: 'POST' as const,
          path: '/api/v1/cases',
          setupRequest: (request: autocannon.Request) => ({
            ...request,
            body: JSON.stringify({
              title: `API bench ${Date.now()} ${++n}`,
              customer_id: customer.id,
              body_text: 'Bench',
            }),
          }),
        },
      },
    ];
    for (const { scenario, request } of scenarios) {
      // a short warm-up, not measured
      await autocannon({ url: app.baseUrl, connections: 10, duration: 2, headers, requests: [request] });
      for (const connections of [1, 10]) {
        const result = summarize(
          await autocannon({ url: app.baseUrl, connections, duration: seconds, headers, requests: [request] }),
        );
        log(
          `${scenario} c=${connections}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}`,
        );
        results.push({ scenario, connections, result });
      }
    }
  } finally {
    await app.stop();
  }
  return { secondsPerRun: seconds, processes: Number(processes), results };
}
