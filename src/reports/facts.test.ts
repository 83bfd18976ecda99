import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyCaseEvent, recordCaseEvent } from '../cases/case-events.ts';
import { createCase, type NewCaseInput, updateCaseHeader } from '../cases/cases.ts';
import { statusOfKind } from '../cases/statuses.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { seedSyntheticData } from '../demo/synthetic-data.ts';
import { seedUser, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme, seedAllHoursPolicy } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';
import { foldReportTimes, rebuildReportFacts } from './facts.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  config: Config;
  kalle: User;
  anna: User;
  customerId: number;
  typeId: number;
  status: Record<'open' | 'waiting' | 'closed', number>;
};

// The facts the triggers keep, and the same facts worked out afresh from cases and thread_entries.
async function keptAndRecomputed(db: Db) {
  const { rows: kept } = await sql`
    select case_id, customer_id, case_type_id, priority_id, responsible_id, source,
      created_at, closed_at, first_response_at, sla_policy_id, sla_breached,
      first_response_business_hours, resolution_business_hours
    from case_report_facts order by case_id`.execute(db);
  const { rows: recomputed } = await sql`
    select c.id as case_id, c.customer_id, c.case_type_id, c.priority_id, c.responsible_id, c.source::text,
      c.created_at, c.closed_at,
      (select min(t.created_at) from thread_entries t
       where t.case_id = c.id and t.side = 'staff' and t.delivery <> 'saved') as first_response_at,
      c.sla_policy_id,
      exists (select from case_events e where e.case_id = c.id and e.kind = 'sla_breached') as sla_breached,
      ((c.sla_clock->>'firstResponseMinutes')::real / 60)::real as first_response_business_hours,
      (case when c.closed_at is not null then (c.sla_clock->'resolution'->>'used')::real / 60 end)::real
        as resolution_business_hours
    from cases c order by c.id`.execute(db);
  return { kept, recomputed };
}

// The monthly counts of times (case_report_times, summed over the connections' slots) and the same
// counted afresh from cases, thread_entries and case_events, not from the facts.
async function rolledAndRecounted(db: Db) {
  const { rows: rolled } = await sql`
    select metric, month, value, label, sum(n)::integer as n from case_report_times
    group by metric, month, value, label having sum(n) <> 0
    order by metric, month, value nulls first, label nulls first`.execute(db);
  const { rows: recounted } = await sql`
    with c as (
      select c.created_at, c.closed_at, c.sla_policy_id, c.source::text, c.responsible_id,
        exists (select from case_events e where e.case_id = c.id and e.kind = 'sla_breached') as breached,
        (extract(epoch from (select min(t.created_at) from thread_entries t
          where t.case_id = c.id and t.side = 'staff' and t.delivery <> 'saved') - c.created_at) / 3600)::real as fr,
        ((c.sla_clock->>'firstResponseMinutes')::real / 60)::real as frb,
        (extract(epoch from (c.closed_at - c.created_at)) / 3600)::real as res,
        (case when c.closed_at is not null then (c.sla_clock->'resolution'->>'used')::real / 60 end)::real as resb
      from cases c
    ), counted as (
      select 'first_response' as metric, date_trunc('month', created_at, 'UTC') as month, report_tenths(fr) as value,
        null::text as label from c
      union all select 'first_response_business', date_trunc('month', created_at, 'UTC'), report_tenths(frb), null from c
      union all select 'sla', date_trunc('month', created_at, 'UTC'),
        case when sla_policy_id is null then null when breached then 1 else 0 end, null from c
      union all select 'channel', date_trunc('month', created_at, 'UTC'), null, source from c
      union all select 'resolution', date_trunc('month', closed_at, 'UTC'), report_tenths(res), null from c
        where closed_at is not null
      union all select 'resolution_business', date_trunc('month', closed_at, 'UTC'), report_tenths(resb), null from c
        where closed_at is not null
      union all select 'closed_by', date_trunc('month', closed_at, 'UTC'), responsible_id, null from c
        where closed_at is not null
    )
    select metric, month, value, label, count(*)::integer as n from counted
    group by metric, month, value, label order by metric, month, value nulls first, label nulls first`.execute(db);
  return { rolled, recounted };
}

const newCase = (over: Partial<NewCaseInput> = {}): NewCaseInput => ({
  title: 'Skrivaren fastnar',
  responsible_id: ctx.kalle.id,
  customer_id: ctx.customerId,
  status_id: ctx.status.open,
  case_type_id: ctx.typeId,
  priority_id: null,
  due_date: null,
  contact_id: null,
  contact_name: 'Per Persson',
  contact_email: 'per@acme.se',
  contact_phone: null,
  body_html: '<div>Hej</div>',
  ...over,
});

const version = async (caseId: number) =>
  (await ctx.db.selectFrom('cases').select('version').where('id', '=', caseId).executeTakeFirstOrThrow()).version;

const test = suite('The report facts equal a recomputation from the cases and their threads');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig() });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  ctx.status = {
    open: await statusOfKind(ctx.db, 'open'),
    waiting: await statusOfKind(ctx.db, 'waiting'),
    closed: await statusOfKind(ctx.db, 'closed'),
  };
  ctx.typeId = (await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow()).id;
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Support', from_address: 'support@casedesk.test' })
    .execute();
});
test.after(async () => {
  await ctx.drop();
});

test('after creating, replying, closing, reopening, re-assigning and mail', async () => {
  const expectEqual = async (what: string) => {
    const { kept, recomputed } = await keptAndRecomputed(ctx.db);
    assert.equal(kept, recomputed, what);
    const { rolled, recounted } = await rolledAndRecounted(ctx.db);
    assert.equal(rolled, recounted, `${what}: the monthly counts of times`);
  };
  const a = await createCase(ctx.db, newCase(), ctx.kalle);
  const b = await createCase(ctx.db, newCase({ responsible_id: undefined }), ctx.kalle);
  await expectEqual('two new cases');

  await addStaffReply(
    ctx.db,
    a.id,
    { body_html: '<div>Prova nu</div>', delivery: 'to_send', to: ['per@acme.se'], set_waiting: true },
    ctx.kalle,
    { config: ctx.config },
  );
  await addStaffReply(ctx.db, b.id, { body_html: '<div>Bara en anteckning</div>', delivery: 'saved' }, ctx.kalle, {
    config: ctx.config,
  });
  await expectEqual('a reply sent (a first response) and one only saved (none)');
  const facts = await ctx.db.selectFrom('case_report_facts').selectAll().where('case_id', 'in', [a.id, b.id]).execute();
  assert.ok(facts.find((f) => f.case_id === a.id)?.first_response_at, 'the sent reply is the first response');
  assert.is(facts.find((f) => f.case_id === b.id)?.first_response_at, null, 'a saved reply is none');

  const { body_html: _body, ...header } = newCase();
  await updateCaseHeader(
    ctx.db,
    b.id,
    await version(b.id),
    { ...header, responsible_id: ctx.anna.id, status_id: ctx.status.closed },
    ctx.kalle,
  );
  await expectEqual('re-assigned to Anna and closed');
  await applyCaseEvent(ctx.db, b.id, { type: 'reopened' }, null);
  await expectEqual('reopened');
  await applyCaseEvent(ctx.db, b.id, { type: 'status_set', status: ctx.status.closed }, ctx.anna);
  await expectEqual('closed again');

  await receiveMail(
    ctx.db,
    ctx.config,
    testMail({ From: 'ny@okand.example', Subject: 'Hjälp' }, 'Datorn startar inte.'),
  );
  await expectEqual('a new case by mail');

  // set-wise: many cases closed by one statement, as Kontroll's batches do
  for (let i = 0; i < 30; i++) await createCase(ctx.db, newCase({ status_id: ctx.status.waiting }), ctx.kalle);
  await ctx.db
    .updateTable('cases')
    .set({ closed_at: new Date() })
    .where('status_id', '=', ctx.status.waiting)
    .execute();
  await expectEqual('a batch written by one statement');

  // a reply taken back (deleted) leaves no first response
  await ctx.db.deleteFrom('thread_entries').where('case_id', '=', a.id).where('side', '=', 'staff').execute();
  await expectEqual('the reply deleted');

  // a case under a service level, and its deadline missed
  await seedAllHoursPolicy(ctx.db);
  const timed = await createCase(ctx.db, newCase(), ctx.kalle);
  await expectEqual('a case under a service level');
  const policy = await ctx.db
    .selectFrom('case_report_facts')
    .select('sla_policy_id')
    .where('case_id', '=', timed.id)
    .executeTakeFirstOrThrow();
  assert.ok(policy.sla_policy_id, 'the case runs by the policy');
  await recordCaseEvent(ctx.db, timed.id, 'sla_breached', null, { new_value: 'first_response' });
  await expectEqual('its deadline missed');

  // the connections' counts folded into one row each count the same
  assert.ok((await foldReportTimes(ctx.db)) > 0, 'there were counts to fold');
  await expectEqual('the counts folded');

  // a case written with triggers off (a bulk load) gets its row at its next change
  const loaded = await createCase(ctx.db, newCase(), ctx.kalle);
  await ctx.db.deleteFrom('case_report_facts').where('case_id', '=', loaded.id).execute();
  await ctx.db.updateTable('cases').set({ responsible_id: ctx.anna.id }).where('id', '=', loaded.id).execute();
  await expectEqual('a missing row filled in by the next change');

  // and a rebuild from scratch (after writers that bypass triggers) gives the same
  await rebuildReportFacts(ctx.db);
  await expectEqual('rebuilt');
});

test.run();

const seeded = suite('The synthetic seed (written with triggers off) fills the report facts');
const seededCtx = {} as { db: Db; drop: () => Promise<void> };
seeded.before(async () => {
  const t = await createTestDatabase();
  Object.assign(seededCtx, { db: t.db, drop: t.drop });
  await seedSyntheticData(t.db, { cases: 1_500, customers: 300, batchSize: 700 });
});
seeded.after(async () => seededCtx.drop());

seeded('every seeded case has its facts, equal to a recomputation', async () => {
  const { kept, recomputed } = await keptAndRecomputed(seededCtx.db);
  assert.is(kept.length, 1_500);
  assert.equal(kept, recomputed);
  const { rolled, recounted } = await rolledAndRecounted(seededCtx.db);
  assert.ok(recounted.length > 20, 'months of counts');
  assert.equal(rolled, recounted, 'the monthly counts of times');
  const answered = kept.filter((row) => (row as { first_response_at: Date | null }).first_response_at !== null);
  assert.ok(answered.length > 0, 'some seeded cases have a first response');
});

seeded.run();
