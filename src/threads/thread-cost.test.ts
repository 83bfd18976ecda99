import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { seedUser } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { type PlanNode, rowsReadFrom } from '../test-support/plans.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { threadEntriesQuery } from './threads.ts';

// Issue 16: the case page's thread reads each reply's mail status from the outbox, which keeps
// every mail ever sent. Without an index on the outbox's case it read all of them on every view
// (80 ms on the 1M-case bench data). This counts the outbox rows its plan reads.
const ctx = {} as { db: Db; drop: () => Promise<void> };
const test = suite('What the case page thread reads from the outbox');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
});
test.after(async () => ctx.drop());

test("a case's thread reads its own mails from the outbox, not the other cases' 20,000", async () => {
  const kalle = await seedUser(ctx.db, 'KALLE');
  const { customer, contact } = await seedAcme(ctx.db);
  const busy = await seedPrinterJamCase(ctx.db, kalle, customer.id, contact.id);
  const quiet = await seedPrinterJamCase(ctx.db, kalle, customer.id, contact.id);
  // 20,000 mails sent on another case: 20 replies (a trigger keeps each case's search text, so
  // thousands of entries would take minutes to add), each sent a thousand times over
  await sql`
    with entries as (
      insert into thread_entries (case_id, side, author_name, body_html)
      select ${busy.id}, 'staff', 'Kalle', '<div>Svar ' || g || '</div>' from generate_series(1, 20) g
      returning id)
    insert into outbox (kind, case_id, thread_entry_id, message_id, envelope_from, envelope_to, subject, raw, status)
    select 'reply', ${busy.id}, id, '<m' || id || '.' || n || '@test>', 'help@test', array['kund@test'], 'Svar',
      '\\x00', 'sent'
    from entries cross join generate_series(1, 1000) n`.execute(ctx.db);
  await sql`analyze thread_entries`.execute(ctx.db);
  await sql`analyze outbox`.execute(ctx.db);
  const [plan] = (await threadEntriesQuery(ctx.db, quiet.id).explain('json', sql`analyze`)) as unknown as {
    'QUERY PLAN': [{ Plan: PlanNode }];
  }[];
  const read = rowsReadFrom(plan?.['QUERY PLAN'][0].Plan ?? {}, 'outbox');
  assert.ok(read < 100, `read ${read} outbox rows`);
});

test.run();
