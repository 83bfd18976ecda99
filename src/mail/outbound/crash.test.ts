import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Case, User } from '../../db/schema.ts';
import { seedUser, testConfig } from '../../test-support/app.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../../test-support/seeds.ts';
import { type SenderProcess, startSenderProcess } from '../../test-support/sender-process.ts';
import { startTestSmtpServer } from '../../test-support/smtp.ts';
import { createMailSender } from './sender.ts';

// Issue 13, finding 12: kill -9 of the sender with replies on their way resent messages the
// SMTP server had already accepted. Each message is now recorded as sent the moment its 250
// arrives, one message at a time, so a kill can send at most the one on its way twice.

// Five kills in an ordinary run; CASEDESK_CRASH_KILLS=10 (or more) for a figure worth reporting.
const kills = Number(process.env.CASEDESK_CRASH_KILLS) || 5;
const repliesPerKill = 20;
// Short, so the new sender takes over the killed one's message soon; safe here, as the two
// senders never run at the same time.
const claimMs = 400;

const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
  config: Config;
  kalle: User;
  kase: Case;
};
const test = suite('Outbox after kill -9 (the sender in a process of its own, a real SMTP server)');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.smtp = await startTestSmtpServer();
  ctx.config = testConfig({ SMTP_URL: ctx.smtp.url });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, contact.id);
});

// Every sender process started, so none outlives a failing test.
const senders: Promise<SenderProcess>[] = [];

test.after(async () => {
  const kill = (sender: SenderProcess) => sender.kill();
  await Promise.all(senders.map((started) => started.then(kill, () => {})));
  await ctx.smtp.close();
  await ctx.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

// A round's replies in the outbox of the case, queued in one statement (composing each through
// addStaffReply would take most of the test's time); their Message-IDs.
async function queueReplies(round: number): Promise<string[]> {
  const messages = Array.from({ length: repliesPerKill }, (_, i) => {
    const messageId = `<crash-${round}-${i + 1}.${Date.now()}@casedesk.test>`;
    const raw = [
      'From: Support <support@casedesk.test>',
      'To: per@acme.se',
      `Subject: [#${ctx.kase.number}] Skrivaren fastnar`,
      `Message-ID: ${messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Svar ${i + 1} i omgång ${round}.`,
      '',
    ].join('\r\n');
    return {
      kind: 'reply' as const,
      case_id: ctx.kase.id,
      message_id: messageId,
      envelope_from: 'support@casedesk.test',
      envelope_to: ['per@acme.se'],
      subject: `[#${ctx.kase.number}] Skrivaren fastnar`,
      raw: Buffer.from(raw, 'utf8'),
      created_by: ctx.kalle.id,
    };
  });
  await ctx.db.insertInto('outbox').values(messages).execute();
  return messages.map((m) => m.message_id);
}

async function unsent(messageIds: string[]): Promise<number> {
  const rows = await ctx.db
    .selectFrom('outbox')
    .select('id')
    .where('message_id', 'in', messageIds)
    .where('status', '<>', 'sent')
    .execute();
  return rows.length;
}

function startSender(): Promise<SenderProcess> {
  const started = startSenderProcess({ databaseUrl: ctx.url, smtpUrl: ctx.smtp.url, claimMs });
  senders.push(started);
  return started;
}

test(`kill -9 in the middle of delivery, ${kills} times: at most one message sent twice per kill, none lost`, async () => {
  const duplicatesPerKill: number[] = [];
  // Two processes are started ahead, as starting one takes longer than a round on a busy machine.
  const ahead: Promise<SenderProcess>[] = [startSender(), startSender()];
  for (let round = 1; round <= kills; round += 1) {
    const messageIds = await queueReplies(round);
    assert.is(messageIds.length, repliesPerKill);
    const acceptedBefore = ctx.smtp.received.length;
    const sender = await (ahead.shift() as Promise<SenderProcess>);

    // Killed as the server accepts a message part-way through, or a few milliseconds later
    // (while the sender records it, files its copy or sends the next one).
    const killAfter = randomInt(2, repliesPerKill - 3);
    const delayMs = Math.random() < 0.4 ? 0 : randomInt(1, 15);
    sender.go();
    await ctx.smtp.waitFor(acceptedBefore + killAfter, 30_000).catch((error) => {
      throw new Error(`${error.message}; the sender said: ${sender.output()}`);
    });
    if (delayMs) await sleep(delayMs);
    await sender.kill();
    if (round + ahead.length < kills) ahead.push(startSender());

    const finisher = createMailSender({ db: ctx.db, config: ctx.config, log: () => {}, claimMs });
    const deadline = Date.now() + 30_000;
    while ((await unsent(messageIds)) > 0) {
      if (Date.now() > deadline) throw new Error(`round ${round}: ${await unsent(messageIds)} never sent`);
      await finisher.runOnce();
      await sleep(100);
    }
    await finisher.stop();

    const accepted = new Map<string, number>();
    for (const mail of ctx.smtp.received.slice(acceptedBefore)) {
      const id = mail.parsed.messageId ?? '';
      accepted.set(id, (accepted.get(id) ?? 0) + 1);
    }
    const lost = messageIds.filter((id) => !accepted.has(id));
    assert.equal(lost, [], `round ${round}: every message reached the server`);
    duplicatesPerKill.push(messageIds.reduce((n, id) => n + Math.max(0, (accepted.get(id) ?? 0) - 1), 0));
  }
  const total = duplicatesPerKill.reduce((a, b) => a + b, 0);
  console.log(
    `\n  [outbox] duplicates per kill over ${kills} kills of ${repliesPerKill} replies each: ` +
      `${duplicatesPerKill.join(', ')} (total ${total})`,
  );
  assert.ok(
    duplicatesPerKill.every((n) => n <= 1),
    `at most one duplicate per kill: ${duplicatesPerKill.join(', ')}`,
  );
});

test.run();
