// npm run bench -- outbox (issue 5): how fast the outbox sender delivers to a local SMTP server,
// and how long the reply POST takes when its e-mail only goes into the outbox.
//
// (a) N replies (BENCH_OUTBOX_MESSAGES, default 2,000) are queued through addStaffReply, as the
//     reply route does, spread over 20 cases; then the sender (createMailSender) runs batch after
//     batch until the queue is empty → messages delivered per second (target ≥ 100/s). The SMTP
//     server (src/test-support/smtp.ts) runs in a process of its own.
// (b) The app in a child process with SMTP_URL at that server and its own sender switched off
//     (MAIL_SENDER=false): autocannon posts replies (delivery=to_send) at 1 and 10 connections
//     for BENCH_SECONDS (default 10) each → p50/p99 (target p50 < 30 ms). The SMTP server must
//     receive nothing meanwhile, and every answered POST must have left one queued outbox row:
//     delivery is never part of the request.
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { loadConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { addStaffReply } from '../threads/threads.ts';
import { type AppProcess, startApp } from './app-process.ts';
import { benchDatabase } from './database.ts';
import { type LoadResult, probe, summarize } from './load.ts';
import { benchLogin, benchPassword, createOpenCases, ensureBenchUser, ensureCustomers } from './minimal-seed.ts';
import { formatTable, gitCommit, machineInfo, redact, round, writeResults } from './report.ts';
import { logIn } from './session.ts';
import { type SmtpProcess, startSmtpProcess } from './smtp-process.ts';
import { waitForIdleDatabase } from './sql.ts';

const caseCount = 20;
const targets = { deliveredPerSecond: 100, replyP50Ms: 30 };

async function outboxCounts(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('outbox')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

// Runs `task` for 0…n-1 with at most `width` at a time.
async function inParallel(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

type ReplyRun = { connections: number } & LoadResult & {
    queuedDuringRun: number;
    smtpReceivedDuringRun: number;
    answered2xx: number;
  };

export async function runOutboxBench({ log }: { log: (msg: string) => void }): Promise<number> {
  const messages = Number(process.env.BENCH_OUTBOX_MESSAGES || 2_000);
  const seconds = Number(process.env.BENCH_SECONDS || 10);
  if (!Number.isInteger(messages) || messages < 1 || !Number.isFinite(seconds) || seconds < 1) {
    console.error('[bench] BENCH_OUTBOX_MESSAGES must be a whole number ≥ 1, BENCH_SECONDS a number ≥ 1');
    return 2;
  }
  const loadBefore = machineInfo().loadAverage;
  const { db, url, fresh } = await benchDatabase('outbox', log);
  let smtp: SmtpProcess | undefined;
  let app: AppProcess | undefined;
  try {
    log(`database ${redact(url)}${fresh ? ' (made afresh)' : ''}`);
    const user = await ensureBenchUser(db);
    const [customer] = await ensureCustomers(db, 1);
    if (!customer) throw new Error('no customer');
    const cases = await createOpenCases(db, user, customer, caseCount);
    smtp = await startSmtpProcess();
    log(`SMTP server (own process) at ${smtp.url}`);
    const config = loadConfig({ ...process.env, DATABASE_URL: url, SMTP_URL: smtp.url, LOG_LEVEL: 'warn' });
    const before = await outboxCounts(db);
    if (before.queued) log(`${before.queued} messages were queued already; they are sent (and counted) too`);

    // (a) queue, then deliver
    log(`queueing ${messages} replies through addStaffReply (${caseCount} cases)`);
    const q0 = performance.now();
    await inParallel(messages, 8, async (i) => {
      const kase = cases[i % cases.length];
      if (!kase) return;
      await addStaffReply(
        db,
        kase.id,
        {
          body_html: `<div>Hej!</div><div>Vi har bytt valsen i fack 2, prova gärna igen. Svar nr ${i + 1}.</div>`,
          delivery: 'to_send',
          to: [customer.contactEmail],
        },
        user,
        { config },
      );
    });
    const queueMs = performance.now() - q0;
    const queued = (await outboxCounts(db)).queued ?? 0;
    log(`queued ${queued} in ${round(queueMs / 1000, 2)} s; delivering`);

    const received0 = (await smtp.count()).received;
    const sender = createMailSender({ db, config, log });
    const d0 = performance.now();
    let delivered = 0;
    // What start() does, without its timer: one message after another, each claimed, sent and
    // recorded, until nothing is due.
    for (;;) {
      const n = await sender.runOnce();
      if (!n) break;
      delivered += n;
    }
    const deliverMs = performance.now() - d0;
    await sender.stop();
    const receivedBySmtp = (await smtp.count()).received - received0;
    const afterDelivery = await outboxCounts(db);
    const deliveredPerSecond = delivered / (deliverMs / 1000);
    log(`delivered ${delivered} in ${round(deliverMs / 1000, 2)} s: ${round(deliveredPerSecond)} msgs/s`);
    if (receivedBySmtp !== delivered || (afterDelivery.queued ?? 0) > 0 || afterDelivery.failed) {
      log(`warning: SMTP received ${receivedBySmtp}, outbox now ${JSON.stringify(afterDelivery)}`);
    }
    const outboxRaw = await sql<{ avg: number }>`select avg(length(raw))::float8 as avg from outbox`.execute(db);

    // (b) the reply POST, with the sender elsewhere (here: nowhere)
    log('starting the app (MAIL_SENDER=false, SMTP_URL at the local server)');
    app = await startApp(url, { SMTP_URL: smtp.url, MAIL_SENDER: 'false', JOBS: 'false' });
    const session = await logIn(app.baseUrl, benchLogin, benchPassword);
    let turn = 0;
    const form = (n: number) =>
      new URLSearchParams({
        _csrf: session.csrf,
        body_html: `<div>Hej!</div><div>Vi tittar på skrivaren i eftermiddag. Svar ${n}.</div>`,
        delivery: 'to_send',
        to: customer.contactEmail,
      }).toString();
    const headers = {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'hx-request': 'true',
    };
    const check = await probe(app.baseUrl, `/cases/${cases[0]?.number}/thread`, session, {
      method: 'POST',
      headers,
      body: form(0),
    });
    if (check.status !== 204) {
      throw new Error(`POST /cases/…/thread answered ${check.status}:\n${app.output().slice(-2000)}`);
    }
    const runs: ReplyRun[] = [];
    for (const connections of [1, 10]) {
      await waitForIdleDatabase(db);
      const queuedBefore = (await outboxCounts(db)).queued ?? 0;
      const smtpBefore = (await smtp.count()).attempts;
      log(`reply POST, ${connections} connection(s), ${seconds} s`);
      const result = await autocannon({
        url: app.baseUrl,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers,
            setupRequest: (request) => {
              const n = turn++;
              return { ...request, path: `/cases/${cases[n % cases.length]?.number}/thread`, body: form(n) };
            },
          },
        ],
      });
      const run = summarize(result);
      // Requests the client gave up on may still be finishing in the app.
      await waitForIdleDatabase(db);
      const queuedDuringRun = ((await outboxCounts(db)).queued ?? 0) - queuedBefore;
      const smtpReceivedDuringRun = (await smtp.count()).attempts - smtpBefore;
      const answered2xx = Object.entries(run.statusCodes)
        .filter(([code]) => code.startsWith('2'))
        .reduce((sum, [, n]) => sum + n, 0);
      runs.push({ connections, ...run, queuedDuringRun, smtpReceivedDuringRun, answered2xx });
    }
    const noDeliveryInRequest = runs.every((r) => r.smtpReceivedDuringRun === 0 && r.queuedDuringRun >= r.answered2xx);

    const rows: (string | number)[][] = [
      ['measure', 'value', 'target', 'notes'],
      [
        'outbox delivery, msgs/s',
        round(deliveredPerSecond),
        `≥ ${targets.deliveredPerSecond}`,
        `${delivered} msgs in ${round(deliverMs / 1000, 2)} s; SMTP got ${receivedBySmtp}; avg ${round((outboxRaw.rows[0]?.avg ?? 0) / 1024, 1)} KB`,
      ],
      [
        'queueing via addStaffReply, replies/s',
        round(messages / (queueMs / 1000)),
        '-',
        `${messages} replies, 8 at a time`,
      ],
      ...runs.flatMap((r) => [
        [
          `reply POST p50 ms, conc ${r.connections}`,
          r.p50Ms,
          `< ${targets.replyP50Ms}`,
          `${r.requests} requests, ${round(r.requestsPerSecond)} req/s, errors ${r.errors}, codes ${JSON.stringify(r.statusCodes)}`,
        ],
        [
          `reply POST p99 ms, conc ${r.connections}`,
          r.p99Ms,
          '-',
          `outbox +${r.queuedDuringRun} queued, SMTP +${r.smtpReceivedDuringRun} during the run`,
        ],
      ]),
    ];
    console.log(`\n${formatTable(rows)}\n`);
    log(
      noDeliveryInRequest
        ? 'no delivery inside the request: the SMTP server received nothing while replies were posted, and each answered POST left a queued outbox row'
        : 'WARNING: mail reached the SMTP server during the POST runs, or answered POSTs left no queued row',
    );
    const file = await writeResults(
      {
        at: new Date().toISOString(),
        commit: gitCommit(),
        machine: { ...machineInfo(), loadAverageBefore: loadBefore },
        database: redact(url),
        delivery: {
          messages: delivered,
          seconds: round(deliverMs / 1000, 3),
          perSecond: round(deliveredPerSecond),
          target: targets.deliveredPerSecond,
          smtpReceived: receivedBySmtp,
          outboxAfter: afterDelivery,
          averageRawBytes: Math.round(outboxRaw.rows[0]?.avg ?? 0),
          batchSize: 50,
        },
        queueing: {
          replies: messages,
          seconds: round(queueMs / 1000, 3),
          perSecond: round(messages / (queueMs / 1000)),
        },
        replyPost: {
          secondsPerRun: seconds,
          appEnv: { MAIL_SENDER: 'false', JOBS: 'false' },
          targetP50Ms: targets.replyP50Ms,
          runs,
          noDeliveryInRequest,
        },
      },
      new Date(),
      'outbox',
    );
    log(`results written to ${file}`);
    return 0;
  } finally {
    await app?.stop();
    await smtp?.stop();
    await db.destroy();
  }
}
