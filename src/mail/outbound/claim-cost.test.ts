import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../../db/database.ts';
import { createTestDatabase } from '../../test-support/database.ts';
import { claimDueMessages } from './outbox.ts';

// Issue 16: Kontroll and the escalation job queue thousands of mails in one transaction, all due at
// the same now(). Ordered on an index of next_attempt_at alone, each claim sorted all of them by id
// to hand out the first: 72 ms a claim with 29,000 queued on the bench data, several claims a second
// while a sender retried, taken from every page's CPU. This counts the outbox rows one claim reads.
const ctx = {} as { db: Db; drop: () => Promise<void> };
const test = suite('What claiming the next mail reads from the outbox');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
});
test.after(async () => ctx.drop());

test('the next of 5,000 mails queued at one moment is claimed without reading the others', async () => {
  await sql`
    insert into outbox (kind, message_id, envelope_from, envelope_to, subject, raw, status, next_attempt_at)
    select 'notification', '<m' || n || '@test>', 'help@test', array['agent@test'], 'Påminnelse', '\\x00', 'queued',
      now() - interval '1 minute'
    from generate_series(1, 5000) n`.execute(ctx.db);
  await sql`analyze outbox`.execute(ctx.db);
  const { claimed, read } = await ctx.db.transaction().execute(async (trx) => {
    const claimed = await claimDueMessages(trx, 1);
    // this transaction's own reads, counted as it goes
    const { rows } = await sql<{ read: number }>`
      select (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::integer as read
      from pg_stat_xact_user_tables where relname = 'outbox'`.execute(trx);
    return { claimed, read: rows[0]?.read ?? -1 };
  });
  assert.is(claimed.length, 1);
  assert.is(claimed[0]?.message_id, '<m1@test>', 'the first queued, by id, goes first');
  assert.ok(read >= 1 && read <= 20, `one claim read ${read} outbox rows`);
});

test.run();
