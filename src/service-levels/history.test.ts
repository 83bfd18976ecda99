import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedAllHoursPolicy, seedPrinterJamCase } from '../test-support/seeds.ts';
import { runSlaEscalation } from './escalation.ts';

// The history tab's line for a breach names the target in the reader's language ("Första svar"),
// not its key (first_response), which is what the case event stores.
const ctx = {} as { db: Db; app: FastifyInstance; drop: () => Promise<void>; kalle: User; client: TestClient };
const test = suite('A breach in the history names its target');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  ctx.app = await buildTestApp(t.db);
  ctx.kalle = await seedUser(t.db, 'KALLE');
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('the breached target is shown by name, in Swedish and in English', async () => {
  const customerId = (await seedAcme(ctx.db)).customer.id;
  await seedAllHoursPolicy(ctx.db);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, customerId);
  const clock = (
    await ctx.db.selectFrom('cases').select('sla_clock').where('id', '=', kase.id).executeTakeFirstOrThrow()
  ).sla_clock;
  const opened = clock?.response?.runningSince;
  assert.ok(opened, 'the case runs by the policy');
  // a day later every target of the policy has passed
  await runSlaEscalation(ctx.db, testConfig(), new Date(Date.parse(opened) + 86_400_000));
  const stored = await ctx.db
    .selectFrom('case_events')
    .select('new_value')
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'sla_breached')
    .execute();
  assert.ok(
    stored.some((e) => e.new_value === 'first_response'),
    'the event stores the key',
  );

  const sv = await ctx.client.get(`/cases/${kase.number}/history`, { htmx: true });
  assert.is(sv.statusCode, 200);
  assert.match(sv.body, 'Servicenivå överskriden');
  assert.match(sv.body, 'Första svar');
  assert.not.match(sv.body, 'first_response');

  await seedUser(ctx.db, 'EVA', 'agent', { language: 'en' });
  const eva = new TestClient(ctx.app);
  await eva.login('eva');
  const en = await eva.get(`/cases/${kase.number}/history`, { htmx: true });
  assert.match(en.body, 'Service level breached');
  assert.match(en.body, 'First response');
  assert.not.match(en.body, 'first_response');
});

test.run();
