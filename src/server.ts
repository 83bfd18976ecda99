import cluster, { type Worker } from 'node:cluster';
import v8 from 'node:v8';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { EmbeddedPostgresError } from './db/embedded.ts';
import { migrateToLatest } from './db/migrate.ts';
import { type OpenDatabase, openDatabase } from './db/open.ts';
import { seedDemoData } from './demo/demo-data.ts';
import { errorMessage } from './error-message.ts';
import { type Schedule, startSchedule } from './jobs/schedule.ts';
import { createMailSender, type MailSender } from './mail/outbound/sender.ts';
import { ensureAdminUser } from './users/users.ts';

// Process entry: configuration, database (embedded unless DATABASE_URL is set), migrations,
// the admin user, then the web server; on SIGTERM/SIGINT everything closes in reverse order.
//
// With WEB_CONCURRENCY > 1 this process is the cluster's primary: it does the once-only start
// (embedded PostgreSQL, migrations, ADMIN, demo data), runs the outbox sender and the scheduled
// jobs, and forks that many workers that serve HTTP on the shared port (a worker sends a reply
// its own request queued at once, but polls the outbox only rarely). The sender's poll and the
// jobs run here alone to save the work of losing lock races; exactly-once still comes from their
// locks (claims with SKIP LOCKED, advisory locks per job and mailbox), which also hold between
// instances on several machines.

// V8 lets the old generation grow by up to 4x its live size before a full collection, and never
// gives the pages back under steady load: a web process whose live heap is 35 MB sat at 260 MB
// RSS under the bench's load. Growing by 20% at a time (collections are incremental and mostly
// concurrent) kept it under 190 MB at the same throughput. Set here, so every way of starting
// the server (npm start, node dist/src/server.js, cluster workers) gets it.
v8.setFlagsFromString('--heap-growing-percent=20');

const say = (msg: string) => console.log(`[casedesk${cluster.isWorker ? ` ${process.pid}` : ''}] ${msg}`);

// A worker that dies is forked again after a pause that doubles with each recent death; this many
// deaths within the window means it cannot start (bad config, database gone), so the primary stops.
const crashWindowMs = 60_000;
const crashLimit = 5;

type Started = { database: OpenDatabase; mailSender: MailSender; schedule?: Schedule };

async function prepare(config: Config): Promise<OpenDatabase> {
  const database = await openDatabase(config, say);
  const { db } = database;
  try {
    const applied = await migrateToLatest(db);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
    const { generatedPassword } = await ensureAdminUser(db, config.adminPassword);
    if (generatedPassword) {
      // Printed once, on the start that created ADMIN; it is not stored anywhere in clear.
      say('='.repeat(60));
      say(`created user ADMIN with password: ${generatedPassword}`);
      say('change it under Administration → Users after logging in');
      say('='.repeat(60));
    }
    // A trial on the embedded database starts with a small demo organisation (DEMO=false: none).
    if (database.embedded && config.demo) await seedDemoData(db, say);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

function startBackground(config: Config, database: OpenDatabase): Started {
  const mailSender = createMailSender({ db: database.db, config, log: say });
  if (config.mailSender) mailSender.start();
  const schedule = config.jobs ? startSchedule({ db: database.db, config, log: say }) : undefined;
  return { database, mailSender, schedule };
}

function onSignals(shutdown: (signal: string) => Promise<void>): void {
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

// One process does everything (WEB_CONCURRENCY=1).
async function single(config: Config, started: number): Promise<void> {
  let app: FastifyInstance | undefined;
  let background: Started | undefined;
  let database: OpenDatabase | undefined;
  let closing = false;
  onSignals(async (signal) => {
    if (closing) return;
    closing = true;
    say(`${signal}: closing`);
    setTimeout(() => process.exit(1), 15_000).unref();
    try {
      await app?.close();
      await background?.schedule?.stop();
      await background?.mailSender.stop();
      await database?.close();
    } finally {
      process.exit(0);
    }
  });
  database = await prepare(config);
  const mailSender = createMailSender({ db: database.db, config, log: say });
  app = await buildApp({ config, db: database.db, mailSender });
  await app.listen({ port: config.port, host: config.host });
  if (config.mailSender) mailSender.start();
  const schedule = config.jobs ? startSchedule({ db: database.db, config, log: say }) : undefined;
  background = { database, mailSender, schedule };
  say(`ready at http://${config.host}:${config.port} in ${Date.now() - started} ms`);
}

async function primary(config: Config, started: number): Promise<void> {
  let background: Started | undefined;
  let closing = false;
  const crashes: number[] = [];
  const workers = new Set<Worker>();

  const closeAll = async (code: number) => {
    setTimeout(() => process.exit(1), 20_000).unref();
    try {
      // Workers first, so no request is cut off while the database is still there for it.
      await Promise.all(
        [...workers].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              worker.once('exit', () => resolve());
              worker.process.kill('SIGTERM');
            }),
        ),
      );
      await background?.schedule?.stop();
      await background?.mailSender.stop();
      await background?.database.close();
    } finally {
      process.exit(code);
    }
  };
  onSignals(async (signal) => {
    if (closing) return;
    closing = true;
    say(`${signal}: closing ${workers.size} web processes`);
    await closeAll(0);
  });

  const database = await prepare(config);
  background = startBackground(config, database);

  // Workers accept connections from the shared socket themselves. With Node's default round robin
  // the primary hands each connection on, and one handed to a worker that has just died hangs
  // until the client gives up (seen in src/cluster/cluster.test.ts); unaccepted connections in the
  // shared queue simply go to a worker that lives.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  // Workers join the database the primary opened (the embedded server is already running) and
  // leave the sender and the jobs to it.
  const fork = () => {
    const worker = cluster.fork();
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (closing) return;
      const now = Date.now();
      crashes.push(now);
      while ((crashes[0] ?? now) < now - crashWindowMs) crashes.shift();
      say(`web process ${worker.process.pid} exited (${signal ?? `code ${code}`})`);
      if (crashes.length >= crashLimit) {
        console.error(`[casedesk] ${crashes.length} web processes died within a minute: stopping`);
        closing = true;
        void closeAll(1);
        return;
      }
      const delay = Math.min(100 * 2 ** (crashes.length - 1), 5_000);
      setTimeout(() => {
        if (!closing) fork();
      }, delay);
    });
    return worker;
  };
  const listening = Array.from(
    { length: config.webConcurrency },
    () => new Promise<void>((resolve) => fork().once('listening', () => resolve())),
  );
  await Promise.all(listening);
  say(
    `ready at http://${config.host}:${config.port} with ${config.webConcurrency} web processes in ${Date.now() - started} ms`,
  );
}

async function worker(config: Config): Promise<void> {
  // Pool per worker: the primary's 10 plus 10 each; requests hold a connection only briefly.
  const database = await openDatabase(config, say);
  // A reply sent from this worker goes at once (the request kicks this sender; claims with SKIP
  // LOCKED keep it exactly-once); the regular poll is the primary's, so here it is only a rare
  // safety net.
  const mailSender = createMailSender({ db: database.db, config, log: say, intervalMs: 5 * 60_000 });
  const app = await buildApp({ config, db: database.db, mailSender });
  let closing = false;
  onSignals(async () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(1), 15_000).unref();
    try {
      await app.close();
      await mailSender.stop();
      await database.close();
    } finally {
      process.exit(0);
    }
  });
  await app.listen({ port: config.port, host: config.host });
  if (config.mailSender) mailSender.start();
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  if (cluster.isWorker) return worker(config);
  if (config.webConcurrency <= 1) return single(config, started);
  return primary(config, started);
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else {
    console.error(`[casedesk] failed to start: ${errorMessage(error)}`);
    // A fault of ours rather than of the machine: where it happened helps whoever fixes it.
    if (error instanceof Error && !(error instanceof EmbeddedPostgresError) && error.stack) console.error(error.stack);
  }
  process.exit(1);
});
