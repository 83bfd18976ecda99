// npm run bench -- mail (issue 6): how fast Read mail turns messages into cases and replies.
//
// (a) The shared corpus (../shared/mail-corpus, or MAIL_CORPUS_DIR), every message stored with
//     storeInboundRaw and processed with processInboundMessage, one after the other, as
//     `npm run mail:import` does → messages per second.
// (b) A synthetic mailbox of BENCH_MAIL_MESSAGES (default 1,000) messages in Dovecot (the test
//     harness, src/test-support/imap.ts): new questions, replies by In-Reply-To and by case tag,
//     some attachments. A mailbox row points at it and readMailbox reads it all in one run
//     (download, store, process, mark \Seen) → messages per second (target ≥ 100/s, issue 16), and
//     the SQL statements it sent per message (begin and commit aside), which the load of a shared
//     machine does not change.
// (c) mailparser alone (simpleParser) on the same raw messages, and the app's parseInbound, per
//     message; the ratio end-to-end / mailparser says how far the pipeline is from that limit.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { loadConfig } from '../config.ts';
import { readMailbox } from '../mail/inbound/fetch.ts';
import { loadIngestSettings } from '../mail/inbound/ingest.ts';
import { parseInbound } from '../mail/inbound/parse.ts';
import { type IngestOutcome, processInboundMessage } from '../mail/inbound/process.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { loadMailSettings } from '../mail/outbound/settings.ts';
import { addTestMailbox, startTestImapServer, type TestImapServer } from '../test-support/imap.ts';
import { benchDatabase } from './database.ts';
import { createOpenCases, ensureBenchUser, ensureCustomers } from './minimal-seed.ts';
import { formatTable, gitCommit, machineInfo, percentile, redact, round, writeResults } from './report.ts';
import { syntheticMailbox } from './synthetic-mail.ts';

const target = { endToEndPerSecond: 100 };
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Found as src/mail/inbound/corpus.test.ts finds it.
function corpusRoot(): string | null {
  return (
    [process.env.MAIL_CORPUS_DIR, path.resolve(repoRoot, '../shared/mail-corpus'), '/work/shared/mail-corpus']
      .filter((dir): dir is string => Boolean(dir))
      .find((dir) => existsSync(dir)) ?? null
  );
}

function corpusFiles(root: string): string[] {
  return ['zammad', 'rt', 'sisimai', 'mailparser'].flatMap((set) => {
    const dir = path.join(root, set);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((name) => !name.endsWith('.yml'))
      .sort()
      .map((name) => path.join(dir, name));
  });
}

type ParseTiming = { meanMs: number; medianMs: number; p90Ms: number; failures: number };

// One untimed pass to warm up, then one timed pass, message by message.
async function timeParse(raws: Buffer[], parse: (raw: Buffer) => Promise<unknown>): Promise<ParseTiming> {
  let failures = 0;
  for (const raw of raws) await parse(raw).catch(() => {});
  const times: number[] = [];
  for (const raw of raws) {
    const t0 = performance.now();
    await parse(raw).catch(() => {
      failures += 1;
    });
    times.push(performance.now() - t0);
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  return {
    meanMs: total / Math.max(1, times.length),
    medianMs: percentile(times, 0.5),
    p90Ms: percentile(times, 0.9),
    failures,
  };
}

// Appends on one connection (the harness's appendMessage logs in anew for every message).
async function appendAll(server: TestImapServer, raws: Buffer[]): Promise<void> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
    disableAutoIdle: true,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    for (const raw of raws) await client.append('INBOX', raw, []);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

export async function runMailBench({ log }: { log: (msg: string) => void }): Promise<number> {
  const count = Number(process.env.BENCH_MAIL_MESSAGES || 1_000);
  if (!Number.isInteger(count) || count < 1) {
    console.error('[bench] BENCH_MAIL_MESSAGES must be a whole number ≥ 1');
    return 2;
  }
  const root = corpusRoot();
  if (!root) {
    console.error('[bench] no mail corpus: set MAIL_CORPUS_DIR or put it at ../shared/mail-corpus');
    return 2;
  }
  const loadBefore = machineInfo().loadAverage;
  const { db, url, fresh } = await benchDatabase('mail', log);
  let imap: TestImapServer | undefined;
  try {
    log(`database ${redact(url)}${fresh ? ' (made afresh)' : ''}`);
    const config = loadConfig({ ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' });
    const user = await ensureBenchUser(db);
    const customers = await ensureCustomers(db, 10);
    const limits = await db.selectFrom('case_settings').select('max_inbound_mb').where('id', '=', 1).executeTakeFirst();
    const maxBytes = (limits?.max_inbound_mb ?? 25) * 1024 * 1024;

    // (a) the corpus
    const files = corpusFiles(root);
    const corpusRaws = files.map((file) => readFileSync(file));
    log(`corpus: ${files.length} messages from ${root}`);
    const corpusOutcomes: Partial<Record<IngestOutcome, number>> = {};
    let corpusStoreMs = 0;
    const c0 = performance.now();
    const settings = await loadIngestSettings(db);
    for (const raw of corpusRaws) {
      const s0 = performance.now();
      const stored = await storeInboundRaw(db, raw, { source: 'import' });
      corpusStoreMs += performance.now() - s0;
      const result = await processInboundMessage(db, config, stored.id, { raw, settings });
      corpusOutcomes[result.outcome] = (corpusOutcomes[result.outcome] ?? 0) + 1;
    }
    const corpusMs = performance.now() - c0;
    const corpusProcessMs = corpusMs - corpusStoreMs;
    log(`corpus imported in ${round(corpusMs / 1000, 2)} s: ${JSON.stringify(corpusOutcomes)}`);

    // (b) the synthetic mailbox over IMAP
    const tagFormat = (await loadMailSettings(db, config)).subjectTag;
    const [firstCustomer] = customers;
    if (!firstCustomer) throw new Error('no customer');
    const cases = await createOpenCases(db, user, firstCustomer, 20);
    const taggedSubjects = cases.map((c) => `${tagFormat.replaceAll('{number}', c.number)} ${c.title}`);
    const { raws, kinds } = await syntheticMailbox({ count, customers, taggedSubjects, to: 'support@casedesk.test' });
    const syntheticBytes = raws.reduce((sum, raw) => sum + raw.length, 0);
    log(`synthetic mailbox: ${count} messages, ${round(syntheticBytes / 1024 / 1024, 2)} MB, ${JSON.stringify(kinds)}`);
    imap = await startTestImapServer();
    const a0 = performance.now();
    await appendAll(imap, raws);
    const appendMs = performance.now() - a0;
    log(`appended to Dovecot in ${round(appendMs / 1000, 2)} s; reading`);
    const mailbox = await addTestMailbox(db, imap, `Bench ${new Date().toISOString()}`);
    // The share of the run spent in processing (parse, match, write the case): the rest is IMAP
    // (search, fetch, \Seen) and storing the raw message.
    let imapProcessMs = 0;
    const timedProcess: typeof processInboundMessage = async (...args) => {
      const p0 = performance.now();
      try {
        return await processInboundMessage(...args);
      } finally {
        imapProcessMs += performance.now() - p0;
      }
    };
    let statements = 0;
    const counted = db.withPlugin({
      transformQuery: (args) => {
        statements += 1;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const r0 = performance.now();
    const report = await readMailbox(counted, config, mailbox.id, { limit: count, process: timedProcess });
    const readMs = performance.now() - r0;
    if (report.error) log(`warning: readMailbox reported: ${report.error}`);
    const read = report.created + report.appended + report.ignored + report.failed + report.duplicates;
    const unseen = (await imap.listMessages()).filter((m) => !m.flags.includes('\\Seen')).length;
    log(`read ${read} in ${round(readMs / 1000, 2)} s; ${unseen} left unseen on the server`);

    // (c) the parser alone
    log('timing simpleParser and parseInbound alone');
    const mailparserCorpus = await timeParse(corpusRaws, (raw) => simpleParser(raw));
    const mailparserSynthetic = await timeParse(raws, (raw) => simpleParser(raw));
    const parseInboundCorpus = await timeParse(corpusRaws, (raw) => parseInbound(raw, { maxBytes }));
    const parseInboundSynthetic = await timeParse(raws, (raw) => parseInbound(raw, { maxBytes }));

    const corpusPerMsg = corpusMs / corpusRaws.length;
    const imapPerMsg = readMs / Math.max(1, read);
    const rows: (string | number)[][] = [
      [
        'run',
        'msgs',
        'seconds',
        'msgs/s',
        'ms/msg e2e',
        'mailparser ms/msg',
        'parseInbound ms/msg',
        'e2e / mailparser',
        'target',
      ],
      [
        '(a) corpus: store + process',
        corpusRaws.length,
        round(corpusMs / 1000, 2),
        round(corpusRaws.length / (corpusMs / 1000)),
        round(corpusPerMsg, 2),
        round(mailparserCorpus.meanMs, 2),
        round(parseInboundCorpus.meanMs, 2),
        round(corpusPerMsg / mailparserCorpus.meanMs, 1),
        '-',
      ],
      [
        '(b) IMAP: readMailbox',
        read,
        round(readMs / 1000, 2),
        round(read / (readMs / 1000)),
        round(imapPerMsg, 2),
        round(mailparserSynthetic.meanMs, 2),
        round(parseInboundSynthetic.meanMs, 2),
        round(imapPerMsg / mailparserSynthetic.meanMs, 1),
        `≥ ${target.endToEndPerSecond}/s`,
      ],
    ];
    console.log(`\n${formatTable(rows)}\n`);
    console.log(
      `IMAP outcomes: created ${report.created}, appended ${report.appended}, ignored ${report.ignored}, failed ${report.failed}, duplicates ${report.duplicates}`,
    );
    console.log(`corpus outcomes: ${JSON.stringify(corpusOutcomes)}`);
    console.log(
      `IMAP: ${round(statements / Math.max(1, read), 1)} SQL statements per message (begin and commit aside)`,
    );
    console.log(
      `time per message in processInboundMessage: corpus ${round(corpusProcessMs / corpusRaws.length, 2)} ms (storeInboundRaw ${round(corpusStoreMs / corpusRaws.length, 2)} ms), IMAP ${round(imapProcessMs / Math.max(1, read), 2)} ms of ${round(imapPerMsg, 2)} ms`,
    );
    console.log(
      `mailparser median/p90 ms: corpus ${round(mailparserCorpus.medianMs, 2)}/${round(mailparserCorpus.p90Ms, 2)}, synthetic ${round(mailparserSynthetic.medianMs, 2)}/${round(mailparserSynthetic.p90Ms, 2)}\n`,
    );

    const file = await writeResults(
      {
        at: new Date().toISOString(),
        commit: gitCommit(),
        machine: { ...machineInfo(), loadAverageBefore: loadBefore },
        database: redact(url),
        corpus: {
          dir: root,
          messages: corpusRaws.length,
          bytes: corpusRaws.reduce((sum, raw) => sum + raw.length, 0),
          seconds: round(corpusMs / 1000, 3),
          perSecond: round(corpusRaws.length / (corpusMs / 1000)),
          msPerMessage: round(corpusPerMsg, 3),
          storeMsPerMessage: round(corpusStoreMs / corpusRaws.length, 3),
          processMsPerMessage: round(corpusProcessMs / corpusRaws.length, 3),
          outcomes: corpusOutcomes,
          mailparser: mailparserCorpus,
          parseInbound: parseInboundCorpus,
          ratioToMailparser: round(corpusPerMsg / mailparserCorpus.meanMs, 2),
        },
        imap: {
          messages: count,
          bytes: syntheticBytes,
          kinds,
          appendSeconds: round(appendMs / 1000, 3),
          readSeconds: round(readMs / 1000, 3),
          read,
          perSecond: round(read / (readMs / 1000)),
          msPerMessage: round(imapPerMsg, 3),
          processMsPerMessage: round(imapProcessMs / Math.max(1, read), 3),
          target: target.endToEndPerSecond,
          statementsPerMessage: round(statements / Math.max(1, read), 2),
          report,
          leftUnseen: unseen,
          mailparser: mailparserSynthetic,
          parseInbound: parseInboundSynthetic,
          ratioToMailparser: round(imapPerMsg / mailparserSynthetic.meanMs, 2),
        },
      },
      new Date(),
      'mail',
    );
    log(`results written to ${file}`);
    return 0;
  } finally {
    await imap?.close();
    await db.destroy();
  }
}
