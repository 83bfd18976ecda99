import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestDatabase } from '../test-support/database.ts';
import { createDb, type Db, prepared, preparedAtEnd } from './database.ts';

// A statement marked `prepared` is parsed once per connection, and PostgreSQL may keep its plan,
// where every other statement is parsed and planned at each run (issue 16: the quick edit).
const ctx = {} as { url: string; db: Db; drop: () => Promise<void> };
const test = suite('Prepared statements: parsed and planned once per connection');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { url: t.url, drop: t.drop, db: createDb(t.url, 1) });
});
test.after(async () => {
  await ctx.db.destroy();
  await ctx.drop();
});

const plans = async () => {
  const { rows } = await sql<{ statement: string; generic_plans: number; custom_plans: number }>`
    select statement, generic_plans, custom_plans from pg_prepared_statements`.execute(ctx.db);
  return rows;
};

test('a marked statement runs by name with its own values each time, parsed once', async () => {
  await sql`create table things (id integer primary key, name text)`.execute(ctx.db);
  await sql`insert into things select g, 'thing ' || g from generate_series(1, 1000) g`.execute(ctx.db);
  for (const n of [1, 2, 3, 4, 5, 6, 7]) {
    const { rows } = await sql<{ name: string }>`${prepared}select name from things where id = ${n}`.execute(ctx.db);
    assert.equal(rows, [{ name: `thing ${n}` }]);
  }
  const [statement, ...others] = await plans();
  assert.is(others.length, 0, 'one prepared statement for one text');
  assert.match(statement?.statement ?? '', /^\/\* prepared \*\/ select/);
  // five custom plans, then the generic one, which costs the same for a primary key lookup
  assert.equal({ generic: statement?.generic_plans, custom: statement?.custom_plans }, { generic: 2, custom: 5 });
});

test('a builder query marked at its end (modifyEnd) runs by name too, with its own values', async () => {
  const before = (await plans()).length;
  for (const n of [10, 11, 12]) {
    const row = await (ctx.db as unknown as Db)
      .updateTable('things' as never)
      .set({ name: `renamed ${n}` } as never)
      .where('id' as never, '=', n as never)
      .returning('name' as never)
      .modifyEnd(preparedAtEnd)
      .executeTakeFirst();
    assert.equal(row, { name: `renamed ${n}` });
  }
  const kept = await plans();
  assert.is(kept.length, before + 1, 'one more prepared statement, for the three runs');
  assert.ok(kept.some((p) => /^update "things".*\/\* prepared \*\/$/.test(p.statement)));
});

test('an unmarked statement is not kept, and is still planned for its values', async () => {
  const before = (await plans()).length;
  const { rows } = await sql<{ n: number }>`select ${41}::integer + 1 as n`.execute(ctx.db);
  assert.equal(rows, [{ n: 42 }]);
  assert.is((await plans()).length, before);
});

test.run();
