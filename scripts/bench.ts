// npm run bench [-- outbox | mail | kontroll | tiles | escalation | reports | api]: with no argument, how fast the case overview
// answers on a large database (below); `outbox` (src/bench/outbox.ts) times the outbox sender and
// the reply POST, `mail` (src/bench/mail.ts) Read mail on the shared corpus and a synthetic IMAP
// mailbox, `kontroll` runs src/bench/kontroll.ts when it is there, `tiles` (src/bench/tiles.ts) the tiles'
// cost at 30,000 and 100,000 unfinished cases, `escalation` (src/bench/escalation.ts) the SLA escalation
// job over 100,000 open cases, `reports` (src/bench/reports.ts) the reports page at one year,
// `api` (src/bench/api.ts) the REST API's list of own cases and case creation.
//
// The overview bench: Starts the app in a
// child process, logs in as a seeded agent and loads five scenarios with autocannon at 1 and 10
// connections; after each overview scenario it times that overview's SQL directly against
// PostgreSQL (the query the app builds, from buildOverviewQuery). Prints tables and writes
// bench/results/<timestamp>.json. Uses DATABASE_URL, else BENCH_DATABASE_URL; BENCH_SECONDS
// (default 20) is the length of each run; BENCH_SSE=200 holds that many open event streams
// (GET /events) while it measures. Changes data: the status of up to 50 unfinished cases.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AppProcess, compileApp, startApp, watchMemory } from '../src/bench/app-process.ts';
import { type LoadResult, loadGet, loadQuickEdit, probe } from '../src/bench/load.ts';
import { formatTable, gitCommit, redact, round, writeResults } from '../src/bench/report.ts';
import {
  findOrCreateLongThreadCase,
  overviewScenarios,
  planQuickEdits,
  refreshQuickEdits,
  type Scenario,
} from '../src/bench/scenarios.ts';
import { logIn } from '../src/bench/session.ts';
import { type SqlTiming, timeOverviewSql, timeTilesSql, waitForIdleDatabase } from '../src/bench/sql.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { agents } from '../src/demo/swedish-words.ts';
import { syntheticAgentPassword } from '../src/demo/synthetic-data.ts';
import { errorMessage } from '../src/error-message.ts';
import { todayIn } from '../src/i18n/i18n.ts';

const howToSeed = `Seed a database of its own first, then point the bench at it:
  createdb casedesk_bench
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/casedesk_bench npm run seed -- --cases 1000000
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/casedesk_bench npm run bench
(or set BENCH_DATABASE_URL instead of DATABASE_URL)`;

const say = (msg: string) => console.log(`[bench] ${msg}`);
const concurrencies = [1, 10];

type ScenarioResult = Scenario & { available: boolean; note?: string; runs: ({ connections: number } & LoadResult)[] };

// " (409×2, 500×1)": the status codes behind a non-2xx count.
function nonSuccessCodes(codes: Record<string, number>): string {
  const other = Object.entries(codes).filter(([code]) => !code.startsWith('2'));
  return other.length ? ` (${other.map(([code, n]) => `${code}×${n}`).join(', ')})` : '';
}

const sseCount = Number(process.env.BENCH_SSE || 0);

// The streams spread over the synthetic agents' sessions, as many per agent as one may hold.
async function holdStreams(baseUrl: string, count: number) {
  const { holdEventStreams } = await import('../src/bench/sse.ts');
  const { streamsPerUser } = await import('../src/live/streams.ts');
  const { createDb } = await import('../src/db/database.ts');
  const db = createDb(String(process.env.DATABASE_URL || process.env.BENCH_DATABASE_URL), 1);
  const agents = await db
    .selectFrom('users')
    .select('login')
    .where('active', '=', true)
    .where('role', '=', 'agent')
    .orderBy('id')
    .limit(Math.ceil(count / streamsPerUser))
    .execute();
  await db.destroy();
  const sessions = [];
  for (const agent of agents) sessions.push(await logIn(baseUrl, agent.login, syntheticAgentPassword));
  return holdEventStreams(baseUrl, sessions, count, streamsPerUser);
}

async function overviewBench(profile = false): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL || process.env.BENCH_DATABASE_URL;
  if (!databaseUrl) {
    console.error(`[bench] no database: set DATABASE_URL or BENCH_DATABASE_URL.\n${howToSeed}`);
    return 2;
  }
  const seconds = Number(process.env.BENCH_SECONDS || 20);
  if (!Number.isFinite(seconds) || seconds < 1) {
    console.error('[bench] BENCH_SECONDS must be a number of seconds, 1 or more');
    return 2;
  }
  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl });
  const db = createDb(databaseUrl, 4);
  let app: AppProcess | undefined;
  try {
    const counts = await db
      .selectNoFrom((eb) => [
        eb
          .selectFrom('cases')
          .select((e) => e.fn.countAll<number>().as('n'))
          .as('cases'),
        eb
          .selectFrom('thread_entries')
          .select((e) => e.fn.countAll<number>().as('n'))
          .as('entries'),
      ])
      .executeTakeFirstOrThrow()
      .catch(() => null);
    const user = await db
      .selectFrom('users')
      .selectAll()
      .where(
        'login',
        'in',
        agents.map((a) => a.login),
      )
      .orderBy((eb) => eb.case().when('login', '=', 'KALLE').then(0).else(1).end())
      .orderBy('id')
      .executeTakeFirst()
      .catch(() => undefined);
    if (!counts?.cases || !user) {
      console.error(`[bench] ${redact(databaseUrl)} has no seeded cases or agents.\n${howToSeed}`);
      return 2;
    }
    say(`database ${redact(databaseUrl)}: ${counts.cases} cases, ${counts.entries} thread entries; as ${user.login}`);
    // Other work on the machine skews every number; the load average says how much there was.
    const loadAverage = os.loadavg().map((n) => round(n, 2));
    say(`load average before the runs: ${loadAverage.join(', ')} on ${os.cpus().length} CPUs`);

    const longCase = await findOrCreateLongThreadCase(db, user);
    const quickEdits = await planQuickEdits(db, 50);
    // BENCH_SCENARIOS=a,d runs only those scenarios (keys as printed).
    const only = process.env.BENCH_SCENARIOS?.split(',').map((k) => k.trim());
    const scenarios: Scenario[] = [
      ...overviewScenarios(),
      { key: 'd', name: 'case page, ~50 thread entries', path: `/cases/${longCase}` },
      { key: 'e', name: 'quick edit: status', path: '/cases/<number>/quick-edit', quickEdit: quickEdits },
    ].filter((s) => !only || only.includes(s.key));

    // Every scenario at 1 and at 2 web processes (BENCH_PROCESSES=1,2), each with its own tables.
    const processCounts = (process.env.BENCH_PROCESSES ?? '1,2')
      .split(',')
      .map(Number)
      .filter((n) => n >= 1);
    const profileDir = profile
      ? path.resolve('bench/results', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`)
      : '';
    const perProcessCount: Record<string, unknown>[] = [];
    for (const webProcesses of processCounts) {
      say(`starting the app with WEB_CONCURRENCY=${webProcesses}`);
      app = await startApp(
        databaseUrl,
        { WEB_CONCURRENCY: String(webProcesses) },
        // each worker loads the app itself: on a busy machine a cluster takes a while to start
        { startTimeoutMs: 180_000, nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] },
      );
      const session = await logIn(app.baseUrl, user.login, syntheticAgentPassword);
      // BENCH_SSE=200: that many open event streams (the live overview, issue 18) while measuring
      const held = sseCount ? await holdStreams(app.baseUrl, sseCount) : null;
      if (held) say(`holding ${held.opened} open SSE connections (${held.refused} refused)`);
      // RSS per web process: with a cluster the workers are the primary's children.
      const memory = watchMemory(app.pid, 200, webProcesses > 1);
      const day = { today: todayIn(config.timeZone), timeZone: config.timeZone };
      const sqlTimings: {
        overview: ({ key: string } & SqlTiming & { sql: string; parameters: readonly unknown[] })[];
        tiles?: SqlTiming;
      } = { overview: [] };
      const results: ScenarioResult[] = [];
      for (const scenario of scenarios) {
        const result: ScenarioResult = { ...scenario, available: true, runs: [] };
        results.push(result);
        // the versions as stored now: the last run left edits in flight whose answers were never read
        if (scenario.quickEdit) await refreshQuickEdits(db, scenario.quickEdit);
        const first = scenario.quickEdit?.cases[0];
        const check = first
          ? await probe(app.baseUrl, `/cases/${first.number}/quick-edit`, session, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
              // the status it already has: answers with the row, changes nothing
              body: new URLSearchParams({
                _csrf: session.csrf,
                field: 'status_id',
                value: String(first.statusId),
                version: String(first.version),
              }).toString(),
            })
          : await probe(app.baseUrl, scenario.path, session);
        if (check.status !== 200) {
          result.available = false;
          result.note = `not available: the probe answered ${check.status}`;
          say(`${scenario.key} ${scenario.name}: ${result.note}`);
          if (check.status >= 500) say(`the app's last output:\n${app.output().slice(-2000)}`);
          continue;
        }
        for (const connections of concurrencies) {
          say(`${scenario.key} ${scenario.name}, ${connections} connection(s), ${seconds} s`);
          if (!(await waitForIdleDatabase(db)))
            say('the database is still busy with earlier requests; measuring anyway');
          if (scenario.quickEdit) await refreshQuickEdits(db, scenario.quickEdit);
          memory.reset();
          const run = scenario.quickEdit
            ? await loadQuickEdit(app.baseUrl, scenario.quickEdit, session, connections, seconds)
            : await loadGet(app.baseUrl, scenario.path, session, connections, seconds);
          result.runs.push({ connections, ...run, peakRssMb: round(memory.peak() / 1024) });
        }
        // The same query straight against PostgreSQL, right after the requests that ran it, so
        // both see the same machine (other work on it changes both).
        if (scenario.overviewQuery) {
          await waitForIdleDatabase(db);
          say(`${scenario.key} timing its SQL directly against PostgreSQL`);
          sqlTimings.overview.push({
            key: scenario.key,
            ...(await timeOverviewSql(db, scenario.overviewQuery, user.id, day)),
          });
          sqlTimings.tiles ??= await timeTilesSql(db, user.id, day);
        }
      }
      await memory.stop();
      if (held) {
        say(`the ${held.opened} SSE connections heard ${held.events()} events during the runs`);
        held.close();
      }

      const tiles = sqlTimings.tiles ?? (await timeTilesSql(db, user.id, day));

      const loadRows: (string | number)[][] = [
        ['scenario', 'conc', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'peak RSS MB/process'],
      ];
      for (const r of results) {
        if (!r.available) loadRows.push([`${r.key} ${r.name}`, '-', '-', '-', '-', '-', r.note ?? '', '-']);
        for (const run of r.runs) {
          loadRows.push([
            `${r.key} ${r.name}`,
            run.connections,
            run.requests,
            round(run.requestsPerSecond),
            // no request finished within the run: there is no latency to show
            run.requests ? run.p50Ms : `>${seconds * 1000}`,
            run.requests ? run.p99Ms : '-',
            `${run.errors}/${run.non2xx}${nonSuccessCodes(run.statusCodes)}`,
            run.peakRssMb ?? '-',
          ]);
        }
      }
      const ratios = sqlTimings.overview.map((t) => {
        const single = results.find((r) => r.key === t.key)?.runs.find((run) => run.connections === 1);
        const p50 = single?.requests ? single.p50Ms : undefined;
        return {
          key: t.key,
          sqlMedianMs: round(t.medianMs, 2),
          requestP50Ms: p50 ?? null,
          ratio: p50 ? round(p50 / t.medianMs) : null,
        };
      });
      const sqlRows: (string | number)[][] = [
        ['scenario', 'SQL median ms', 'SQL p90 ms', 'runs', 'request p50 ms (conc 1)', 'p50 / SQL'],
        ...sqlTimings.overview.map((t) => {
          const ratio = ratios.find((x) => x.key === t.key);
          return [
            `${t.key} ${scenarios.find((s) => s.key === t.key)?.name ?? ''}`,
            round(t.medianMs, 2),
            round(t.p90Ms, 2),
            t.runs,
            ratio?.requestP50Ms ?? '-',
            ratio?.ratio ?? '-',
          ];
        }),
        [
          'counts (loadOverviewCounts: tiles, bell, saved views; every overview page)',
          round(tiles.medianMs, 2),
          round(tiles.p90Ms, 2),
          tiles.runs,
          '-',
          '-',
        ],
      ];
      const peakMb = round(Math.max(0, ...results.flatMap((r) => r.runs.map((run) => run.peakRssMb ?? 0))));
      console.log(`\nWEB_CONCURRENCY=${webProcesses}\n${formatTable(loadRows)}\n`);
      console.log(`${formatTable(sqlRows)}\n`);
      console.log(
        `server memory: peak RSS of one web process during the runs ${peakMb} MB (sampled every 200 ms), VmHWM ${round(memory.hwm() / 1024)} MB\n`,
      );

      perProcessCount.push({
        webProcesses,
        scenarios: results.map(({ quickEdit, ...r }) => ({ ...r, quickEditCases: quickEdit?.cases.length })),
        sql: sqlTimings.overview,
        tiles,
        ratios,
        memory: { peakRssMb: peakMb, vmHwmMb: round(memory.hwm() / 1024) },
      });
      await app.stop();
      app = undefined;
    }
    if (profile) say(`CPU profiles (open in Chrome DevTools → Performance) written to ${profileDir}`);
    const file = await writeResults({
      at: new Date().toISOString(),
      commit: gitCommit(),
      machine: {
        cpus: os.cpus().length,
        memoryGb: round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAverageBefore: loadAverage,
        loadAverageAfter: os.loadavg().map((n) => round(n, 2)),
      },
      database: { cases: counts.cases, threadEntries: counts.entries },
      user: user.login,
      secondsPerRun: seconds,
      runs: perProcessCount,
    });
    say(`results written to ${file}`);
    return 0;
  } finally {
    await app?.stop();
    await db.destroy();
  }
}

const subcommands: Record<string, () => Promise<number>> = {
  outbox: async () => (await import('../src/bench/outbox.ts')).runOutboxBench({ log: say }),
  mail: async () => (await import('../src/bench/mail.ts')).runMailBench({ log: say }),
  kontroll: kontrollBench,
  tiles: tilesBench,
  escalation: escalationBench,
  reports: reportsBench,
  api: apiBench,
};

// A subcommand's result, written to bench/results/<name>-<timestamp>.json with when, which commit
// and which database.
async function keepResults(name: string, url: string, result: object): Promise<void> {
  const file = await writeResults(
    { at: new Date().toISOString(), commit: gitCommit(), database: redact(url), ...result },
    new Date(),
    name,
  );
  say(`results written to ${file}`);
}

// GET /reports timed on the database as it is (src/bench/reports.ts); reads only.
async function reportsBench(): Promise<number> {
  const url = process.env.DATABASE_URL || process.env.BENCH_DATABASE_URL;
  if (!url) {
    console.error(`[bench] reports: no database given.\n${howToSeed}`);
    return 2;
  }
  const { runReportsBench } = await import('../src/bench/reports.ts');
  const result = await runReportsBench({ databaseUrl: url, log: say });
  await keepResults('reports', url, result);
  return 0;
}

// The REST API under load on the database as it is (src/bench/api.ts); adds the cases it creates.
async function apiBench(): Promise<number> {
  const url = process.env.DATABASE_URL || process.env.BENCH_DATABASE_URL;
  if (!url) {
    console.error(`[bench] api: no database given.\n${howToSeed}`);
    return 2;
  }
  const { runApiBench } = await import('../src/bench/api.ts');
  await keepResults('api', url, await runApiBench({ databaseUrl: url, log: say }));
  return 0;
}

// The escalation job over 100,000 open cases that all reach their warning point at once
// (src/bench/escalation.ts): a first run that warns them all, a second that finds nothing new.
async function escalationBench(): Promise<number> {
  const { benchDatabase } = await import('../src/bench/database.ts');
  const { runEscalationBench } = await import('../src/bench/escalation.ts');
  const { db, url } = await benchDatabase('escalation', say, 2);
  await db.destroy();
  const result = await runEscalationBench({ databaseUrl: url, log: say });
  await keepResults('escalation', url, result);
  return 0;
}

// The tiles' cost per overview load at 30,000 and 100,000 unfinished cases (src/bench/tiles.ts).
// Adds waiting cases to the database it is given (use a copy).
async function tilesBench(): Promise<number> {
  const { benchDatabase } = await import('../src/bench/database.ts');
  const { runTilesBench } = await import('../src/bench/tiles.ts');
  const { db, url } = await benchDatabase('tiles', say, 2);
  await db.destroy();
  const result = await runTilesBench({ databaseUrl: url, log: say });
  await keepResults('tiles', url, result);
  return 0;
}

// src/bench/kontroll.ts is written elsewhere and may not exist yet: it is imported by a path
// the type checker does not follow, and its absence is said plainly.
async function kontrollBench(): Promise<number> {
  const file = new URL('../src/bench/kontroll.ts', import.meta.url);
  if (!existsSync(file)) {
    console.error('[bench] kontroll: src/bench/kontroll.ts does not exist yet (it should export runKontrollBench).');
    return 2;
  }
  const module: { runKontrollBench?: unknown } = await import(file.href);
  if (typeof module.runKontrollBench !== 'function') {
    console.error('[bench] kontroll: src/bench/kontroll.ts does not export a function runKontrollBench.');
    return 2;
  }
  const { benchDatabase } = await import('../src/bench/database.ts');
  const { db, url } = await benchDatabase('kontroll', say, 2);
  await db.destroy();
  const run = module.runKontrollBench as (opts: { databaseUrl: string; log: (msg: string) => void }) => unknown;
  const result = await run({ databaseUrl: url, log: say });
  if (typeof result === 'number') return result;
  // A result object is kept like the other benches' results.
  if (result && typeof result === 'object') {
    await keepResults('kontroll', url, result);
  }
  return 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // Production runs compiled JS; so does the bench unless BENCH_RUNTIME=tsx.
  if (process.env.BENCH_RUNTIME !== 'tsx') {
    say('compiling the app (npm run build); BENCH_RUNTIME=tsx runs it through tsx instead');
    await compileApp();
  }
  const profile = args.includes('--profile');
  const [command, ...rest] = args.filter((a) => a !== '--profile');
  if (!command) return overviewBench(profile);
  const run = subcommands[command];
  if (!run || rest.length) {
    console.error(`[bench] usage: npm run bench [-- ${Object.keys(subcommands).join(' | ')}]`);
    return 2;
  }
  return run();
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[bench] failed: ${errorMessage(error)}`);
    process.exit(1);
  },
);
