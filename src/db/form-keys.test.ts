import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seedUser } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import type { Db } from './database.ts';
import { claimFormKey, FormKeyReusedError, newFormKey, oncePerFormKey, recordFormResult } from './form-keys.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; kalle: number; anna: number };
const test = suite('One-time form keys');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.kalle = (await seedUser(ctx.db, 'KALLE')).id;
  ctx.anna = (await seedUser(ctx.db, 'ANNA')).id;
});
test.after(async () => {
  await ctx.drop();
});

// Resolves once some statement of this database waits for a row lock (the second submit's
// insert waiting on the first one's uncommitted key).
async function someoneWaitsForALock(db: Db): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
    if (rows[0]?.n) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('nobody waited for the key');
}

// The first submit, stopped half-way: its key is taken but its transaction is still open.
function firstSubmitHeldOpen(key: string, outcome: 'commit' | 'rollback') {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let claimed!: () => void;
  const hasClaimed = new Promise<void>((resolve) => {
    claimed = resolve;
  });
  const done = ctx.db
    .transaction()
    .execute(async (trx) => {
      assert.is(await claimFormKey(trx, { key, userId: ctx.kalle, form: 'test' }), null);
      claimed();
      await finished;
      await recordFormResult(trx, key, { made: 'first' });
      if (outcome === 'rollback') throw new Error('the first submit failed');
    })
    .catch((error: Error) => error.message);
  return { hasClaimed, finish, done };
}

const submitAgain = (key: string, work: () => Promise<{ made: string }>) =>
  ctx.db.transaction().execute((trx) => oncePerFormKey(trx, { key, userId: ctx.kalle, form: 'test' }, work));

test('a second submit racing the first waits for it and gets its result without doing the work', async () => {
  const key = newFormKey();
  const first = firstSubmitHeldOpen(key, 'commit');
  await first.hasClaimed;
  let workedAgain = false;
  const second = submitAgain(key, async () => {
    workedAgain = true;
    return { made: 'second' };
  });
  await someoneWaitsForALock(ctx.db);
  first.finish();
  await first.done;
  assert.equal(await second, { made: 'first' });
  assert.is(workedAgain, false);
});

test('when the first submit fails, its key is free and the second one does the work', async () => {
  const key = newFormKey();
  const first = firstSubmitHeldOpen(key, 'rollback');
  await first.hasClaimed;
  const second = submitAgain(key, async () => ({ made: 'second' }));
  await someoneWaitsForALock(ctx.db);
  first.finish();
  assert.is(await first.done, 'the first submit failed');
  assert.equal(await second, { made: 'second' });
  const rows = await ctx.db.selectFrom('form_submissions').select('result').where('key', '=', key).execute();
  assert.equal(rows, [{ result: { made: 'second' } }]);
});

test('a used key is refused for another user, another form or other content', async () => {
  const key = newFormKey();
  const once = (submit: { userId: number; form: string; content: unknown }) =>
    ctx.db.transaction().execute((trx) => oncePerFormKey(trx, { key, ...submit }, async () => ({ made: 'it' })));
  assert.equal(await once({ userId: ctx.kalle, form: 'reply:1', content: { text: 'Hej' } }), { made: 'it' });
  assert.equal(await once({ userId: ctx.kalle, form: 'reply:1', content: { text: 'Hej' } }), { made: 'it' });
  for (const other of [
    { userId: ctx.anna, form: 'reply:1', content: { text: 'Hej' } },
    { userId: ctx.kalle, form: 'reply:2', content: { text: 'Hej' } },
    { userId: ctx.kalle, form: 'reply:1', content: { text: 'Hej då' } },
  ]) {
    try {
      await once(other);
      assert.unreachable('a reused key must be refused');
    } catch (error) {
      assert.instance(error, FormKeyReusedError);
    }
  }
});

test('without a key the work is done every time', async () => {
  let runs = 0;
  for (let i = 0; i < 2; i++) {
    await ctx.db
      .transaction()
      .execute((trx) => oncePerFormKey(trx, { key: null, userId: ctx.kalle, form: 'test' }, async () => ++runs));
  }
  assert.is(runs, 2);
});

test.run();
