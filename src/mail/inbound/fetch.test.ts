import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { readFileContent } from '../../files/files.ts';
import { parseForm } from '../../forms/form.ts';
import { testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { startTestImapServer, type TestImapServer, testMessage } from '../../test-support/imap.ts';
import { needs } from '../../test-support/system-packages.ts';
import { type ReadOptions, readAllMailboxes, readMailbox } from './fetch.ts';
import { createMailbox, type Mailbox, mailboxSchema } from './mailboxes.ts';
import { processInboundMessage } from './process.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  imap: TestImapServer;
  config: Config;
};
const test = needs('dovecot', suite('Read mail over real IMAP (Dovecot)'));

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.imap = await startTestImapServer();
  ctx.config = testConfig();
});
test.after(async () => {
  await ctx.imap.close();
  await ctx.drop();
});

let folders = 0;
// Each test reads its own folder through its own mailbox row, so tests never see each other's mail.
async function freshMailbox(extra: Record<string, string> = {}): Promise<Mailbox> {
  folders += 1;
  const folder = `Test${folders}`;
  const form = parseForm(mailboxSchema, {
    name: `Support ${folders}`,
    imap_host: ctx.imap.host,
    imap_port: String(ctx.imap.port),
    imap_security: 'none',
    imap_user: ctx.imap.user,
    imap_password: ctx.imap.password,
    folder,
    after_read: 'seen',
    ...extra,
  });
  if (!form.ok) throw new Error(`bad test mailbox: ${JSON.stringify(form.errors)}`);
  return createMailbox(ctx.db, form.data);
}

async function appendMessages(mailbox: Mailbox, count: number, flags: string[] = []): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const messageId = `<m${i}.${mailbox.id}.${Date.now()}@acme.se>`;
    await ctx.imap.appendMessage(testMessage({ subject: `Fråga ${i}`, messageId }), { folder: mailbox.folder, flags });
    ids.push(messageId);
  }
  return ids;
}

function inboundRows(mailbox: Mailbox) {
  return ctx.db
    .selectFrom('inbound_messages')
    .selectAll()
    .where('mailbox_id', '=', mailbox.id)
    .orderBy('uid')
    .execute();
}

// processInboundMessage as it is, counting the calls per stored message.
function processSpy() {
  const calls: string[] = [];
  const process: ReadOptions['process'] = async (db, config, id) => {
    calls.push(id);
    return processInboundMessage(db, config, id);
  };
  return { calls, process };
}

const seen = (flags: string[] | undefined) => Boolean(flags?.includes('\\Seen'));

test('three new messages are stored, processed once each, and only then marked as read', async () => {
  const mailbox = await freshMailbox();
  const messageIds = await appendMessages(mailbox, 3);
  const spy = processSpy();

  const report = await readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process });
  assert.is(report.error, undefined);
  assert.is(report.busy, undefined);
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, 3);
  assert.equal(
    rows.map((r) => r.message_id),
    messageIds,
  );
  const server = await ctx.imap.listMessages(mailbox.folder);
  assert.equal(
    rows.map((r) => Number(r.uid)),
    server.map((m) => m.uid),
  );
  assert.ok(rows.every((r) => r.source === 'imap' && r.uid_validity !== null && r.status !== 'pending'));
  // Processed once each, in UID order, and counted in the report by what processing said.
  assert.equal(
    spy.calls,
    rows.map((r) => String(r.id)),
  );
  assert.is(report.created + report.appended + report.ignored + report.failed, 3);
  assert.ok(server.every((m) => seen(m.flags)));
  // Each became a new case, titled by its subject.
  assert.is(report.created, 3, JSON.stringify(report));
  const cases = await ctx.db
    .selectFrom('inbound_messages')
    .innerJoin('cases', 'cases.id', 'inbound_messages.case_id')
    .select(['cases.title', 'inbound_messages.status'])
    .where('inbound_messages.mailbox_id', '=', mailbox.id)
    .orderBy('inbound_messages.uid')
    .execute();
  assert.equal(
    cases.map((c) => [c.title, c.status]),
    [
      ['Fråga 1', 'processed'],
      ['Fråga 2', 'processed'],
      ['Fråga 3', 'processed'],
    ],
  );
  // The raw message is kept as it came.
  const raw = await readFileContent(ctx.db, rows[0]?.file_id as string);
  assert.match(raw.toString('utf8'), 'Subject: Fråga 1');
  const stored = await ctx.db
    .selectFrom('mailboxes')
    .select(['last_read_at', 'last_error'])
    .where('id', '=', mailbox.id)
    .executeTakeFirstOrThrow();
  assert.ok(stored.last_read_at);
  assert.is(stored.last_error, null);
});

test('a second run finds nothing new and does nothing twice', async () => {
  const mailbox = await freshMailbox();
  await appendMessages(mailbox, 3);
  const spy = processSpy();
  await readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process });
  const again = await readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process });
  assert.equal(
    { ...again, mailbox: undefined },
    { mailbox: undefined, created: 0, appended: 0, ignored: 0, failed: 0, duplicates: 0 },
  );
  assert.is((await inboundRows(mailbox)).length, 3);
  assert.is(spy.calls.length, 3);
});

test('a connection lost after the first message was stored: the next run stores each message once and marks all', async () => {
  const mailbox = await freshMailbox();
  await appendMessages(mailbox, 3);
  const spy = processSpy();
  let stopped = false;
  const first = await readMailbox(ctx.db, ctx.config, mailbox.id, {
    process: spy.process,
    // The server goes away after the first message was stored and processed, before it hears of it.
    afterProcess: async () => {
      if (stopped) return;
      stopped = true;
      await ctx.imap.stop();
    },
  }).finally(() => (stopped ? ctx.imap.start() : undefined));
  assert.ok(first.error, 'the run reports the lost connection');
  // the first was processed; the second was stored while the first was processed (the next
  // message is stored beside the one processed), and waits unprocessed; the third was not reached
  const afterFirst = await inboundRows(mailbox);
  assert.equal(
    afterFirst.map((r) => r.uid),
    [1, 2],
  );
  assert.is(spy.calls.length, 1, 'only the first was processed');
  const lastError = await ctx.db
    .selectFrom('mailboxes')
    .select('last_error')
    .where('id', '=', mailbox.id)
    .executeTakeFirstOrThrow();
  assert.ok(lastError.last_error);

  // Downloading did not mark anything: the server still holds all three as unread.
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => !seen(m.flags)));
  const second = await readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process });
  assert.is(second.error, undefined);
  // the processed one is only marked; the pending one is processed first (as every run begins) and then marked
  assert.is(second.duplicates, 2, 'the stored ones are only marked');
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, 3);
  assert.is(new Set(rows.map((r) => r.uid)).size, 3);
  assert.equal([...spy.calls].sort(), rows.map((r) => String(r.id)).sort(), 'each message processed exactly once');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
  const cleared = await ctx.db
    .selectFrom('mailboxes')
    .select('last_error')
    .where('id', '=', mailbox.id)
    .executeTakeFirstOrThrow();
  assert.is(cleared.last_error, null);
});

test('a crash while processing leaves the message stored and unread; the next run finishes it', async () => {
  const mailbox = await freshMailbox();
  await appendMessages(mailbox, 2);
  const calls: string[] = [];
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id, {
    process: async (db, config, id) => {
      calls.push(id);
      if (calls.length === 1) throw new Error('database went away');
      return processInboundMessage(db, config, id);
    },
  });
  assert.is(report.error, undefined, 'the run carries on with the next message');
  const flags = await ctx.imap.listMessages(mailbox.folder);
  assert.equal(
    flags.map((m) => seen(m.flags)),
    [false, true],
  );
  const rows = await inboundRows(mailbox);
  assert.equal(
    rows.map((r) => r.status === 'pending'),
    [true, false],
  );

  const spy = processSpy();
  await readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process });
  assert.equal(spy.calls, [String(rows[0]?.id)]);
  assert.is((await inboundRows(mailbox)).length, 2);
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

test('two readers at once: one is told the mailbox is busy, and each message is stored once', async () => {
  const mailbox = await freshMailbox();
  await appendMessages(mailbox, 3);
  const spy = processSpy();
  const reports = await Promise.all([
    readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process }),
    readMailbox(ctx.db, ctx.config, mailbox.id, { process: spy.process }),
  ]);
  const busy = reports.filter((r) => r.busy);
  const handled = reports.reduce((n, r) => n + r.created + r.appended + r.ignored + r.failed, 0);
  assert.ok(busy.length === 1 || handled === 3, JSON.stringify(reports));
  assert.is((await inboundRows(mailbox)).length, 3);
  assert.is(spy.calls.length, 3);
  assert.is(new Set(spy.calls).size, 3);
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

test('"move to folder" moves each message after it was stored, creating the folder', async () => {
  const mailbox = await freshMailbox({ after_read: 'move', move_to_folder: `Done${folders + 1}` });
  await appendMessages(mailbox, 3);
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined);
  assert.is((await inboundRows(mailbox)).length, 3);
  assert.is((await ctx.imap.listMessages(mailbox.folder)).length, 0);
  const moved = await ctx.imap.listMessages(mailbox.move_to_folder as string);
  assert.is(moved.length, 3);
  assert.ok(moved.every((m) => seen(m.flags)));
  // Nothing is left to read, so nothing more happens.
  const again = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(again.created + again.appended + again.ignored + again.failed + again.duplicates, 0);
  assert.is((await inboundRows(mailbox)).length, 3);
});

test('mail read by a person before us: old read mail is left alone, new read mail is still taken', async () => {
  const mailbox = await freshMailbox();
  await appendMessages(mailbox, 1, ['\\Seen']);
  await appendMessages(mailbox, 1);
  await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is((await inboundRows(mailbox)).length, 1, 'history from before the mailbox was set up is not imported');
  // A colleague opened the newest message in a mail client before Read mail came round.
  await appendMessages(mailbox, 1, ['\\Seen']);
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.is(report.error, undefined);
  const rows = await inboundRows(mailbox);
  assert.is(rows.length, 2);
  assert.is(Number(rows[1]?.uid), 3);
});

test('a message over the size limit is kept as failed "too large" with its header only', async () => {
  const mailbox = await freshMailbox();
  const body = `${'Lång rad med text. '.repeat(60)}\r\n`.repeat(10);
  await ctx.imap.appendMessage(testMessage({ subject: 'Stor bilaga', messageId: '<big@acme.se>', body }), {
    folder: mailbox.folder,
  });
  await appendMessages(mailbox, 1);
  const spy = processSpy();
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id, { maxBytes: 4000, process: spy.process });
  assert.is(report.error, undefined);
  const [big, small] = await inboundRows(mailbox);
  assert.ok(big && small);
  assert.is(big.status, 'failed');
  assert.is(big.outcome, 'too_large');
  assert.match(big.error ?? '', /too large/);
  assert.is(big.message_id, '<big@acme.se>');
  assert.ok(big.size_bytes > 4000, 'the size on the server is recorded');
  const kept = await readFileContent(ctx.db, big.file_id);
  assert.ok(kept.length < 4000, 'only the header was downloaded');
  assert.match(kept.toString('utf8'), 'Subject: Stor bilaga');
  assert.equal(spy.calls, [String(small.id)], 'the one too large is not processed; the poller carries on');
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => seen(m.flags)));
});

test('a wrong password is reported and recorded, and nothing is read', async () => {
  const mailbox = await freshMailbox({ imap_password: 'not-the-password' });
  await appendMessages(mailbox, 1);
  const report = await readMailbox(ctx.db, ctx.config, mailbox.id);
  assert.match(report.error ?? '', /Authentication failed/i);
  const row = await ctx.db
    .selectFrom('mailboxes')
    .select(['last_error', 'last_read_at'])
    .where('id', '=', mailbox.id)
    .executeTakeFirstOrThrow();
  assert.match(row.last_error ?? '', /Authentication failed/i);
  assert.is(row.last_read_at, null);
  assert.is((await inboundRows(mailbox)).length, 0);
  assert.ok((await ctx.imap.listMessages(mailbox.folder)).every((m) => !seen(m.flags)));
});

test('a new message costs few database statements: stored in one, turned into a case in a handful', async () => {
  const mailbox = await freshMailbox();
  const count = 10;
  for (let i = 1; i <= count; i++) {
    await ctx.imap.appendMessage(
      testMessage({
        subject: `Ny fråga ${i}`,
        from: `Kund ${i} <kund${i}@example.org>`,
        messageId: `<q${i}.${mailbox.id}@example.org>`,
      }),
      { folder: mailbox.folder },
    );
  }
  // Every statement the run sends (begin and commit aside), counted as Kysely compiles it.
  const statements: string[] = [];
  const counted = ctx.db.withPlugin({
    transformQuery: (args) => {
      statements.push(args.node.kind);
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  const report = await readMailbox(counted, ctx.config, mailbox.id);
  assert.is(report.error, undefined);
  assert.is(report.created, count, JSON.stringify(report));
  const cases = await ctx.db
    .selectFrom('inbound_messages')
    .innerJoin('cases', 'cases.id', 'inbound_messages.case_id')
    .select('cases.title')
    .where('inbound_messages.mailbox_id', '=', mailbox.id)
    .orderBy('inbound_messages.uid')
    .execute();
  assert.equal(
    cases.map((c) => c.title),
    Array.from({ length: count }, (_, i) => `Ny fråga ${i + 1}`),
  );
  // Per message: store, lock, sender, case, entry, documents, their history, finish (8); per run
  // and batch: the lock, settings, candidates, stored UIDs, fetch failures and the outcome. Reading
  // it all back message by message took about 30 per message.
  const perMessage = statements.length / count;
  assert.ok(perMessage <= 11, `${statements.length} statements for ${count} messages`);
});

test('readAllMailboxes reads every active mailbox and skips inactive ones', async () => {
  await ctx.db.updateTable('mailboxes').set({ active: false }).execute();
  const a = await freshMailbox();
  const b = await freshMailbox();
  const off = await freshMailbox();
  await ctx.db.updateTable('mailboxes').set({ active: false }).where('id', '=', off.id).execute();
  for (const m of [a, b, off]) await appendMessages(m, 1);
  const reports = await readAllMailboxes(ctx.db, ctx.config);
  assert.equal(reports.map((r) => r.mailbox.id).sort(), [a.id, b.id].sort());
  assert.is((await inboundRows(a)).length, 1);
  assert.is((await inboundRows(b)).length, 1);
  assert.is((await inboundRows(off)).length, 0);
});

test.run();
