import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import { buildTestApp, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedDemoData } from './demo-data.ts';

const ctx = {} as { db: Db; drop: () => Promise<void> };
const test = suite('Demo data');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
});
test.after(async () => ctx.drop());

test('seeds users, customers and about fifty cases with threads, once', async () => {
  const said: string[] = [];
  assert.is(await seedDemoData(ctx.db, (line) => said.push(line)), true);
  // The password is made for this seeding and said once in the log, never a fixed one.
  const demoPassword = /password "([^"]+)"/.exec(said.join('\n'))?.[1] ?? '';
  assert.ok(demoPassword.length >= 12, said.join('\n'));
  assert.is.not(demoPassword, 'casedesk-demo');
  const count = async (
    table: 'cases' | 'customers' | 'contacts' | 'thread_entries' | 'discussion_posts' | 'documents',
  ) =>
    (
      await ctx.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
  assert.is(await count('cases'), 50);
  assert.ok((await count('customers')) >= 8);
  assert.ok((await count('thread_entries')) > 50);
  assert.ok((await count('discussion_posts')) >= 20);
  assert.ok((await count('documents')) >= 10);
  assert.is(await seedDemoData(ctx.db), false, 'a second run leaves the data alone');
  assert.is(await count('cases'), 50);

  const app = await buildTestApp(ctx.db);
  const kalle = new TestClient(app);
  assert.is((await kalle.login('kalle', demoPassword)).statusCode, 303);
  const page = await kalle.get('/cases');
  assert.match(page.body, 'Kalle Svensson');
  assert.match(page.body, /href="\/cases\/\d{4}-\d{5}"/, 'KALLE has open cases');
  await app.close();
});

test.run();
