import { type FetchMessageObject, ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import type { Config } from '../../config.ts';
import { withAdvisoryLock } from '../../db/advisory-locks.ts';
import type { Db } from '../../db/database.ts';
import { withoutNul } from '../../db/text.ts';
import { type IngestSettings, loadIngestSettings } from './ingest.ts';
import {
  findMailbox,
  type ImapAccount,
  imapAccountOf,
  listMailboxes,
  type Mailbox,
  recordReadOutcome,
} from './mailboxes.ts';
import { type IngestResult, type PreparedInbound, processInboundMessage } from './process.ts';
import { type InboundSource, recordFailedInbound, storeInboundRaw } from './store.ts';

// Read mail, the IMAP side: for each message not yet handled, by UID — download, store the raw
// message (storeInboundRaw), process it (processInboundMessage), and only then tell the server
// (\Seen, or MOVE). A crash anywhere leaves the message either unstored (read again next time)
// or stored and not yet marked (found by UID next time and only marked): nothing lost, nothing
// twice.

export type ReadReport = {
  mailbox: { id: number; name: string };
  created: number;
  appended: number;
  ignored: number;
  failed: number;
  // already stored by an earlier run (only marked on the server now), or a Message-ID seen before
  duplicates: number;
  // another reader (this or another instance) was reading the mailbox; nothing was done
  busy?: true;
  // the run stopped: the server's words (authentication, network, folder)
  error?: string;
};

export type ReadOptions = {
  // Larger messages are kept as failed "too large" with their header only; default: case_settings.
  maxBytes?: number;
  // Messages per run; the rest wait for the next run, so one full mailbox cannot hold up the others.
  limit?: number;
  timeoutMs?: number;
  process?: (db: Db, config: Config, inboundId: string, prepared?: PreparedInbound) => Promise<IngestResult>;
  // storeInboundRaw, unless a test stands in one that fails.
  store?: typeof storeInboundRaw;
  // Called for each message after it was stored and processed and before the server is told.
  afterProcess?: (uid: number) => Promise<void> | void;
};

const defaultLimit = 500;
// A message the server failed to hand out on this many runs is recorded as failed.
const maxFetchAttempts = 3;
// UIDs per FETCH of sizes; their sources are then fetched with one FETCH per batch, in groups
// of at most prefetchBytes, so a run holds that much downloaded mail in memory at most.
const batchSize = 50;
const prefetchBytes = 32 * 1024 * 1024;

type ImapError = Error & { responseText?: string; code?: string };

// The server's own words where it gave some ("Authentication failed."), else the socket's.
export function imapErrorText(error: unknown): string {
  const e = error as ImapError;
  const text = e?.responseText || e?.message || String(error);
  return text.trim().slice(0, 500);
}

// TLS certificates are always verified; "none" means the server offers no encryption at all and
// the connection stays in cleartext (loopback and test servers), never that a certificate is ignored.
export function imapClient(account: ImapAccount, timeoutMs = 15_000): ImapFlow {
  const client = new ImapFlow({
    host: account.host,
    port: account.port,
    secure: account.security === 'tls',
    doSTARTTLS: account.security === 'starttls' ? true : account.security === 'none' ? false : undefined,
    auth: { user: account.user, pass: account.password ?? '' },
    logger: false,
    disableAutoIdle: true,
    clientInfo: { name: 'Casedesk' },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: Math.max(timeoutMs, 60_000),
  });
  // A dropped connection is reported by the command that was waiting on it; without a listener,
  // the 'error' event would end the process.
  client.on('error', () => {});
  return client;
}

export type ImapCheck = { ok: true; messages: number; unseen: number } | { ok: false; error: string };

// For "Test connection": connect, log in, open the folder read-only, count; then hang up.
export async function checkImapConnection(account: ImapAccount, timeoutMs = 10_000): Promise<ImapCheck> {
  const client = imapClient(account, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async (): Promise<ImapCheck> => {
        await client.connect();
        const opened = await client.mailboxOpen(account.folder, { readOnly: true });
        const unseen = opened.exists ? await client.search({ seen: false }, { uid: true }) : [];
        await client.logout();
        return { ok: true, messages: opened.exists, unseen: Array.isArray(unseen) ? unseen.length : 0 };
      })(),
      timeout,
    ]);
  } catch (error) {
    return { ok: false, error: imapErrorText(error) };
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

function emptyReport(mailbox: Mailbox): ReadReport {
  return {
    mailbox: { id: mailbox.id, name: mailbox.name },
    created: 0,
    appended: 0,
    ignored: 0,
    failed: 0,
    duplicates: 0,
  };
}

function count(report: ReadReport, result: IngestResult): void {
  switch (result.outcome) {
    case 'created':
    case 'new_linked':
    case 'stranger':
      report.created += 1;
      break;
    case 'appended':
    case 'reopened':
    case 'discussion':
      report.appended += 1;
      break;
    // kept and noted, nothing more
    case 'bounce':
    case 'auto_reply':
    case 'own':
    case 'possible_loop':
      report.ignored += 1;
      break;
    case 'duplicate':
      report.duplicates += 1;
      break;
    case 'failed':
      report.failed += 1;
      break;
    default: {
      // every outcome is counted where it belongs: a new one must be placed here, not fall into "failed"
      const unplaced: never = result.outcome;
      throw new Error(`uncounted inbound outcome ${unplaced}`);
    }
  }
}

// The stored ones among a batch of UIDs, in one query.
async function findStoredUids(db: Db, mailboxId: number, uidValidity: number, uids: number[]) {
  if (!uids.length) return new Map<number, { id: string; status: string }>();
  const rows = await db
    .selectFrom('inbound_messages')
    .select(['id', 'status', 'uid'])
    .where('mailbox_id', '=', mailboxId)
    .where('uid_validity', '=', uidValidity)
    .where('uid', 'in', uids)
    .execute();
  return new Map(rows.map((r) => [Number(r.uid), { id: String(r.id), status: r.status as string }]));
}

// The highest UID stored from this folder generation; messages above it are new even if a person
// opened them in a mail client before we came.
async function highestStoredUid(db: Db, mailboxId: number, uidValidity: number): Promise<number | null> {
  const row = await db
    .selectFrom('inbound_messages')
    .select((eb) => eb.fn.max('uid').as('uid'))
    .where('mailbox_id', '=', mailboxId)
    .where('uid_validity', '=', uidValidity)
    .executeTakeFirst();
  return row?.uid == null ? null : Number(row.uid);
}

// Stored but never processed: a crash came between the two. Under the mailbox lock no other
// reader is at work on them.
async function listPendingIds(db: Db, mailboxId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('inbound_messages')
    .select('id')
    .where('mailbox_id', '=', mailboxId)
    .where('status', '=', 'pending')
    .orderBy('id')
    .execute();
  return rows.map((row) => String(row.id));
}

// Only the header of a message over the size limit is downloaded and kept, so the failed-mail list
// can say who sent what; outcome 'too_large' tells a retry that the body was never read.
async function markTooLarge(db: Db, inboundId: string, size: number, maxBytes: number): Promise<void> {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  await db
    .updateTable('inbound_messages')
    .set({
      status: 'failed',
      outcome: 'too_large',
      error: `too large: ${mb(size)} MB (limit ${mb(maxBytes)} MB); only the header was kept, the message stays on the server`,
      size_bytes: size,
      processed_at: new Date(),
    })
    .where('id', '=', inboundId)
    .where('status', '=', 'pending')
    .execute();
}

// A message that could not be processed goes to the failed-mail list with its error; were it
// left pending, every run would try it again before anything else.
async function settleFailed(db: Db, inboundId: string, error: string | undefined): Promise<void> {
  await db
    .updateTable('inbound_messages')
    .set({ status: 'failed', error: withoutNul(error ?? 'processing failed'), processed_at: new Date() })
    .where('id', '=', inboundId)
    .where('status', '=', 'pending')
    .execute();
}

function searchResult(found: number[] | false | undefined, what: string): number[] {
  if (!Array.isArray(found)) throw new Error(`the server refused the search for ${what}`);
  return found;
}

function ensureUsable(client: ImapFlow): void {
  if (!client.usable) throw new Error('the connection to the IMAP server was lost');
}

type Run = {
  db: Db;
  config: Config;
  mailbox: Mailbox;
  client: ImapFlow;
  uidValidity: number;
  maxBytes: number;
  settings: IngestSettings;
  report: ReadReport;
  opts: ReadOptions;
  messageErrors: string[];
};

type FetchFailure = { attempts: number; error: string };

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

type ImapSource = Extract<InboundSource, { source: 'imap' }>;

async function findFetchFailures(db: Db, mailboxId: number, uidValidity: number, uids: number[]) {
  if (!uids.length) return new Map<number, FetchFailure>();
  const rows = await db
    .selectFrom('inbound_fetch_failures')
    .select(['uid', 'attempts', 'error'])
    .where('mailbox_id', '=', mailboxId)
    .where('uid_validity', '=', uidValidity)
    .where('uid', 'in', uids)
    .execute();
  return new Map(rows.map((r) => [Number(r.uid), { attempts: r.attempts, error: r.error }]));
}

async function countFetchFailure(db: Db, from: ImapSource, error: string): Promise<void> {
  const text = withoutNul(error).slice(0, 1000);
  await db
    .insertInto('inbound_fetch_failures')
    .values({ mailbox_id: from.mailboxId, uid_validity: from.uidValidity, uid: from.uid, error: text })
    .onConflict((oc) =>
      oc
        .columns(['mailbox_id', 'uid_validity', 'uid'])
        .doUpdateSet({ attempts: sql`inbound_fetch_failures.attempts + 1`, error: text, last_failed_at: new Date() }),
    )
    .execute();
}

async function clearFetchFailure(db: Db, from: ImapSource): Promise<void> {
  await db
    .deleteFrom('inbound_fetch_failures')
    .where('mailbox_id', '=', from.mailboxId)
    .where('uid_validity', '=', from.uidValidity)
    .where('uid', '=', from.uid)
    .execute();
}

// The sources of a batch's messages, downloaded with one FETCH (BODY.PEEK[], which does not set
// \Seen). What came before a failure is kept; lostConnection says the connection went with it
// (Dovecot's answer to a broken file), and then the first message not received is the one
// the server could not hand out.
type Prefetched = { sources: Map<number, Buffer>; failed: { error: unknown; lostConnection: boolean } | null };

async function prefetchSources(client: ImapFlow, uids: number[]): Promise<Prefetched> {
  const sources = new Map<number, Buffer>();
  if (!uids.length) return { sources, failed: null };
  // A connection lost before (not by this FETCH) is no message's fault: the run stops, nothing counted.
  ensureUsable(client);
  try {
    for await (const message of client.fetch(uids.join(','), { uid: true, source: true }, { uid: true })) {
      if (message.source) sources.set(message.uid, message.source);
    }
    return { sources, failed: null };
  } catch (error) {
    return { sources, failed: { error, lostConnection: !client.usable } };
  }
}

// Downloads a message: all of it (from the batch's prefetch, or on its own), or only its header
// when it is over the size limit. A failure on this UID is counted. A server that refuses just
// this message lets the run go on ('skipped'); a dropped connection (Dovecot's answer to a broken
// file) stops it, as ever. A message that failed on maxFetchAttempts runs is recorded as failed
// and not asked for again ('unreadable'): were it asked for on every run, every run would stop at
// it.
async function downloadMessage(
  run: Run,
  from: ImapSource,
  headerOnly: boolean,
  failures: FetchFailure | undefined,
  prefetched: Prefetched | null,
): Promise<Buffer | 'gone' | 'skipped' | 'unreadable'> {
  const { db, client } = run;
  if (failures && failures.attempts >= maxFetchAttempts) {
    const error = `could not be downloaded in ${failures.attempts} tries: ${failures.error}`;
    await recordFailedInbound(db, { raw: Buffer.alloc(0), from, error, outcome: 'unreadable' });
    await clearFetchFailure(db, from);
    run.messageErrors.push(`UID ${from.uid}: ${error}`);
    return 'unreadable';
  }
  const source = headerOnly ? undefined : prefetched?.sources.get(from.uid);
  if (source) {
    if (failures) await clearFetchFailure(db, from);
    return source;
  }
  // the failure was counted on the message it stopped at (readBatch)
  if (!headerOnly && prefetched?.failed?.lostConnection) throw prefetched.failed.error;
  ensureUsable(client);
  try {
    const query = headerOnly ? { headers: true } : { source: true };
    const message = await client.fetchOne(String(from.uid), query, { uid: true });
    if (!message) return 'gone'; // expunged meanwhile
    const content = headerOnly ? (message.headers ?? Buffer.alloc(0)) : message.source;
    if (!content) throw new Error(`the server sent no content for UID ${from.uid}`);
    if (failures) await clearFetchFailure(db, from);
    return content;
  } catch (error) {
    await countFetchFailure(db, from, imapErrorText(error));
    if (!client.usable) throw error;
    run.messageErrors.push(`UID ${from.uid}: ${imapErrorText(error)}`);
    return 'skipped';
  }
}

// Stores a downloaded message. One the database refuses (something in it no rule foresaw) is
// recorded as failed with its UID and bytes instead, and the run goes on with the next; were the
// error to stop the run, every later run would stop at the same message.
async function storeMessage(
  run: Run,
  raw: Buffer,
  from: ImapSource,
): Promise<{ id: string; duplicate: boolean; failed: boolean }> {
  const store = run.opts.store ?? storeInboundRaw;
  try {
    return { ...(await store(run.db, raw, from)), failed: false };
  } catch (error) {
    const text = `could not be stored: ${errorText(error)}`;
    const id = await recordFailedInbound(run.db, { raw, from, error: text, outcome: 'failed' });
    run.messageErrors.push(`UID ${from.uid}: ${text}`);
    return { id, duplicate: false, failed: true };
  }
}

async function processStored(run: Run, inboundId: string, raw?: Buffer): Promise<boolean> {
  const process = run.opts.process ?? processInboundMessage;
  try {
    const result = await process(run.db, run.config, inboundId, { raw, settings: run.settings });
    if (result.outcome === 'failed') await settleFailed(run.db, inboundId, result.error);
    count(run.report, result);
    return true;
  } catch (error) {
    // Left pending: the next run processes it again before the server hears anything.
    run.report.failed += 1;
    run.messageErrors.push(`inbound message ${inboundId}: ${errorText(error)}`);
    return false;
  }
}

// Tells the server the message is dealt with. A false answer from imapflow means the command did
// not run (connection gone); that stops the run, and the next run only marks the message.
async function markHandled(run: Run, uid: number): Promise<void> {
  const { client, mailbox } = run;
  ensureUsable(client);
  const flagged = await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
  if (!flagged) throw new Error(`the server did not mark UID ${uid} as read`);
  if (mailbox.after_read === 'move' && mailbox.move_to_folder) {
    const moved = await client.messageMove(String(uid), mailbox.move_to_folder, { uid: true });
    if (!moved) throw new Error(`the server did not move UID ${uid} to ${mailbox.move_to_folder}`);
  }
}

type BatchFacts = {
  stored: { id: string; status: string } | undefined;
  failures: FetchFailure | undefined;
  prefetched: () => Promise<Prefetched | null>;
};

// What is left of a message once it is downloaded and stored: processing it and telling the
// server, only telling the server (a duplicate, one stored as failed), or nothing.
type Acquired = { next: 'process'; id: string; raw?: Buffer } | { next: 'mark' } | { next: 'nothing' };

// The first half of reading a message: download and store it. The raw message is stored before
// anything else happens to it, in its own transaction.
async function acquireMessage(run: Run, meta: FetchMessageObject, facts: BatchFacts): Promise<Acquired> {
  const { db, mailbox, uidValidity, report } = run;
  const uid = meta.uid;
  const from: ImapSource = { source: 'imap', mailboxId: mailbox.id, uidValidity, uid };
  const { stored } = facts;
  const tooLarge = (meta.size ?? 0) > run.maxBytes;
  if (stored) {
    // Stored by an earlier run that stopped before the server heard of it: mark it, nothing more.
    if (stored.status === 'pending') return { next: 'process', id: stored.id };
    report.duplicates += 1;
    return { next: 'mark' };
  }
  const downloaded = await downloadMessage(run, from, tooLarge, facts.failures, await facts.prefetched());
  if (downloaded === 'gone') return { next: 'nothing' };
  if (downloaded === 'skipped') {
    report.failed += 1;
    return { next: 'nothing' };
  }
  if (downloaded === 'unreadable') {
    report.failed += 1;
    return { next: 'mark' };
  }
  const { id, duplicate, failed } = await storeMessage(run, downloaded, from);
  if (tooLarge) {
    if (!duplicate && !failed) await markTooLarge(db, id, meta.size ?? 0, run.maxBytes);
    report.failed += 1;
    return { next: 'mark' };
  }
  if (failed) report.failed += 1;
  else if (duplicate) report.duplicates += 1;
  else return { next: 'process', id, raw: downloaded };
  return { next: 'mark' };
}

// The second half: process the stored message, and only then tell the server. A message whose
// processing failed stays pending and unmarked, for the next run.
async function finishMessage(run: Run, uid: number, acquired: Acquired): Promise<void> {
  if (acquired.next === 'nothing') return;
  if (acquired.next === 'process' && !(await processStored(run, acquired.id, acquired.raw))) return;
  await run.opts.afterProcess?.(uid);
  await markHandled(run, uid);
}

// One batch of UIDs: their sizes, which are stored already and which failed to download before
// (one query each), then each message in UID order. The sources of those to download are fetched
// in groups of at most prefetchBytes, a group when its first message is reached.
async function readBatch(run: Run, uids: number[]): Promise<void> {
  const { db, client, mailbox, uidValidity } = run;
  ensureUsable(client);
  const metas = (await client.fetchAll(uids, { uid: true, size: true }, { uid: true })).sort((a, b) => a.uid - b.uid);
  const batchUids = metas.map((m) => m.uid);
  const stored = await findStoredUids(db, mailbox.id, uidValidity, batchUids);
  const failures = await findFetchFailures(db, mailbox.id, uidValidity, batchUids);
  const groups: number[][] = [];
  const groupOf = new Map<number, number>();
  let groupBytes = 0;
  for (const meta of metas) {
    const attempts = failures.get(meta.uid)?.attempts ?? 0;
    const size = meta.size ?? 0;
    if (stored.has(meta.uid) || size > run.maxBytes || attempts >= maxFetchAttempts) continue;
    const current = groups.at(-1);
    if (!current || groupBytes + size > prefetchBytes) {
      groups.push([meta.uid]);
      groupBytes = size;
    } else {
      current.push(meta.uid);
      groupBytes += size;
    }
    groupOf.set(meta.uid, groups.length - 1);
  }
  let fetched: { group: number; result: Prefetched } | null = null;
  const acquire = (meta: FetchMessageObject) => {
    const group = groupOf.get(meta.uid);
    return acquireMessage(run, meta, {
      stored: stored.get(meta.uid),
      failures: failures.get(meta.uid),
      prefetched: async () => {
        if (group === undefined) return null;
        if (fetched?.group !== group) {
          const wanted = groups[group] ?? [];
          const result = await prefetchSources(client, wanted);
          fetched = { group, result };
          // Counted at once: the run stops at the first message it can no longer mark, maybe
          // before it reaches the one the server could not hand out.
          const culprit = wanted.find((uid) => !result.sources.has(uid));
          if (result.failed?.lostConnection && culprit !== undefined) {
            const from: ImapSource = { source: 'imap', mailboxId: mailbox.id, uidValidity, uid: culprit };
            await countFetchFailure(db, from, imapErrorText(result.failed.error));
          }
        }
        return fetched.result;
      },
    });
  };
  // Two messages at a time, in order: while one is processed and marked, the next is downloaded
  // and stored (issue 16: its own commit then waits beside the other's, not after it). Each is
  // still stored before it is processed and processed before the server hears of it, and they are
  // processed one after the other in UID order, so a reply is never processed before the mail it
  // answers.
  const settle = (meta: FetchMessageObject) =>
    acquire(meta).then(
      (acquired) => ({ acquired }),
      (error: unknown) => ({ error }),
    );
  let next = metas[0] ? settle(metas[0]) : null;
  try {
    for (const [index, meta] of metas.entries()) {
      const current = await (next as ReturnType<typeof settle>);
      next = null;
      if ('error' in current) throw current.error;
      const following = metas[index + 1];
      next = following ? settle(following) : null;
      await finishMessage(run, meta.uid, current.acquired);
    }
  } finally {
    // a run that stops (the server could not mark a message) lets the next message's store end first
    await next;
  }
}

// The UIDs to look at, ascending. Moving empties the folder, so all its messages are candidates.
// Marking as read leaves them: then the unseen ones, and any above the highest UID stored (read
// by a person before us). Stored ones among them are only marked, never stored again.
async function findCandidates(run: Run): Promise<number[]> {
  const { client, mailbox, uidValidity, db } = run;
  if (mailbox.after_read === 'move') {
    return searchResult(await client.search({ deleted: false }, { uid: true }), 'messages').sort((a, b) => a - b);
  }
  const uids = new Set(searchResult(await client.search({ seen: false, deleted: false }, { uid: true }), 'unseen'));
  const highest = await highestStoredUid(db, mailbox.id, uidValidity);
  if (highest !== null) {
    // "n:*" always matches the last message, even when its UID is below n.
    const newer = searchResult(await client.search({ uid: `${highest + 1}:*`, deleted: false }, { uid: true }), 'new');
    for (const uid of newer) if (uid > highest) uids.add(uid);
  }
  return [...uids].sort((a, b) => a - b);
}

async function ensureFolder(client: ImapFlow, folder: string): Promise<void> {
  const folders = await client.list();
  if (!folders.some((f) => f.path === folder)) await client.mailboxCreate(folder);
}

async function readLocked(db: Db, config: Config, mailbox: Mailbox, opts: ReadOptions): Promise<ReadReport> {
  const report = emptyReport(mailbox);
  const account = await imapAccountOf(db, mailbox);
  if (!account.password) {
    report.error = 'no usable password is stored for this mailbox';
    await recordReadOutcome(db, mailbox.id, { connected: false, error: report.error });
    return report;
  }
  const messageErrors: string[] = [];
  const client = imapClient(account, opts.timeoutMs ?? config.imapTimeoutMs);
  try {
    await client.connect();
    const opened = await client.mailboxOpen(account.folder);
    const settings = await loadIngestSettings(db);
    const run: Run = {
      db,
      config,
      mailbox,
      client,
      uidValidity: Number(opened.uidValidity),
      maxBytes: opts.maxBytes ?? settings.maxInboundBytes,
      settings,
      report,
      opts,
      messageErrors,
    };
    for (const id of await listPendingIds(db, mailbox.id)) await processStored(run, id);
    if (mailbox.after_read === 'move' && mailbox.move_to_folder) await ensureFolder(client, mailbox.move_to_folder);
    const uids = (await findCandidates(run)).slice(0, opts.limit ?? defaultLimit);
    for (let i = 0; i < uids.length; i += batchSize) await readBatch(run, uids.slice(i, i + batchSize));
    await client.logout();
    await recordReadOutcome(db, mailbox.id, { connected: true, error: messageErrors[0] ?? null });
  } catch (error) {
    report.error = imapErrorText(error);
    await recordReadOutcome(db, mailbox.id, { connected: false, error: report.error }).catch(() => {});
  } finally {
    client.close();
  }
  return report;
}

// Reads one mailbox. One reader per mailbox at a time across all instances: the advisory lock is
// held on one connection for the whole run, and a second reader returns at once with busy.
export async function readMailbox(
  db: Db,
  config: Config,
  mailboxId: number,
  opts: ReadOptions = {},
): Promise<ReadReport> {
  const mailbox = await findMailbox(db, mailboxId);
  if (!mailbox) throw new Error(`no mailbox ${mailboxId}`);
  const locked = await withAdvisoryLock(db, 'mailbox', mailbox.id, () => readLocked(db, config, mailbox, opts));
  return locked.acquired ? locked.value : { ...emptyReport(mailbox), busy: true };
}

// Mailboxes read at the same time by readAllMailboxes. Each holds a database connection for its
// lock and one for its work, and waits mostly on its IMAP server and the database, so a few
// at once finish sooner than one after another without crowding the pool (10) or the cores.
const mailboxesAtOnce = 3;

// Every active mailbox, a few at a time; a failing one does not stop the rest. Reports in the
// mailboxes' order.
export async function readAllMailboxes(db: Db, config: Config, opts: ReadOptions = {}): Promise<ReadReport[]> {
  const mailboxes = await listMailboxes(db);
  const reports: ReadReport[] = new Array(mailboxes.length);
  let next = 0;
  const reader = async () => {
    while (next < mailboxes.length) {
      const i = next++;
      const mailbox = mailboxes[i] as Mailbox;
      reports[i] = await readMailbox(db, config, mailbox.id, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(mailboxesAtOnce, mailboxes.length) }, reader));
  return reports;
}
