import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import { createDb, type Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { runKontroll } from '../kontroll/kontroll.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { receiveMail, testMail } from '../test-support/inbound.ts';
import { seedAcme } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';
import { createProject } from '../work-orders/projects.ts';
import { createWorkOrderFromCase } from '../work-orders/work-orders.ts';
import { applyCaseEvent } from './case-events.ts';
import { createCase, type NewCaseInput, updateCaseHeader } from './cases.ts';
import { countCaseTiles, type Day } from './overview.ts';
import { statusOfKind } from './statuses.ts';
import { foldTileCounts, rebuildTileCounts } from './tile-counts.ts';

const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  app: FastifyInstance;
  config: Config;
  kalle: User;
  anna: User;
  customerId: number;
  status: Record<'open' | 'waiting' | 'closed' | 'workOrder', number>;
  typeId: number;
};

const tileKeys = ['mine', 'unassigned', 'overdue', 'waiting', 'new_today'] as const;
type Tiles = Record<(typeof tileKeys)[number], number>;

// The tiles as KALLE's overview shows them.
async function tilesShown(client: TestClient): Promise<Tiles> {
  const page = await client.get('/cases');
  assert.is(page.statusCode, 200);
  return Object.fromEntries(
    tileKeys.map((key) => {
      const match = new RegExp(`data-tile="${key}">(\\d+)<`).exec(page.body);
      assert.ok(match, `the tile ${key} is on the page`);
      return [key, Number(match[1])];
    }),
  ) as Tiles;
}

// The same numbers counted over every case, as the overview did before the counters.
async function recount(userId: number, today: string): Promise<Tiles> {
  const { rows } = await sql<Tiles>`select
      count(*) filter (where status_kind <> 'closed' and responsible_id = ${userId})::integer as mine,
      count(*) filter (where status_kind <> 'closed' and responsible_id is null)::integer as unassigned,
      count(*) filter (where status_kind <> 'closed' and due_date < ${today}::date)::integer as overdue,
      count(*) filter (where status_kind = 'waiting')::integer as waiting,
      count(*) filter (where created_at >= (${today}::date::timestamp at time zone ${ctx.config.timeZone}))::integer
        as new_today
    from cases`.execute(ctx.db);
  return rows[0] as Tiles;
}

const todayOf = () =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: ctx.config.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date());

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

// The case header saved with these fields changed (the rest as newCase has them).
async function header(
  caseId: number,
  fields: { responsible_id: number | null; status_id: number; due_date: string | null },
): Promise<void> {
  const { body_html: _body, ...rest } = newCase();
  await updateCaseHeader(ctx.db, caseId, await version(caseId), { ...rest, ...fields }, ctx.kalle);
}

const version = async (caseId: number) =>
  (await ctx.db.selectFrom('cases').select('version').where('id', '=', caseId).executeTakeFirstOrThrow()).version;

const test = suite('The overview tiles are exact right after every kind of change');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop, config: testConfig() });
  ctx.app = await buildTestApp(ctx.db);
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  ctx.customerId = (await seedAcme(ctx.db)).customer.id;
  ctx.status = {
    open: await statusOfKind(ctx.db, 'open'),
    waiting: await statusOfKind(ctx.db, 'waiting'),
    closed: await statusOfKind(ctx.db, 'closed'),
    workOrder: await statusOfKind(ctx.db, 'work_order'),
  };
  ctx.typeId = (await ctx.db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow()).id;
  await ctx.db
    .updateTable('mail_settings')
    .set({ from_name: 'Support', from_address: 'support@casedesk.test' })
    .execute();
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

test('each change a user or the system makes shows on the next overview load, here and from another instance', async () => {
  const kalle = new TestClient(ctx.app);
  await kalle.login('KALLE');
  const expectExact = async (what: string, moved?: Partial<Tiles>) => {
    const before = lastSeen;
    const shown = await tilesShown(kalle);
    assert.equal(shown, await recount(ctx.kalle.id, todayOf()), what);
    for (const [key, delta] of Object.entries(moved ?? {})) {
      assert.is(shown[key as keyof Tiles] - before[key as keyof Tiles], delta, `${what}: ${key} moved by ${delta}`);
    }
    lastSeen = shown;
  };
  let lastSeen = await tilesShown(kalle);

  // a new case, mine, overdue
  const overdue = await createCase(ctx.db, newCase({ due_date: '2020-01-01' }), ctx.kalle);
  await expectExact('a new case', { mine: 1, overdue: 1, new_today: 1 });

  // quick edits from the overview: waiting, unassigned, a due date, closed
  const quick = async (caseId: number, number: string, field: string, value: string) => {
    const res = await kalle.request({
      method: 'POST',
      url: `/cases/${number}/quick-edit`,
      form: { field, value, version: String(await version(caseId)) },
      headers: { 'x-csrf-token': kalle.csrf },
      htmx: true,
    });
    assert.is(res.statusCode, 200, res.body);
  };
  const other = await createCase(ctx.db, newCase(), ctx.kalle);
  await expectExact('another new case', { mine: 1 });
  await quick(other.id, other.number, 'status_id', String(ctx.status.waiting));
  await expectExact('quick edit: waiting', { waiting: 1 });
  await quick(other.id, other.number, 'responsible_id', '');
  await expectExact('quick edit: nobody responsible', { mine: -1, unassigned: 1 });
  await header(other.id, { responsible_id: null, status_id: ctx.status.waiting, due_date: '2021-06-01' });
  await expectExact('header edit: a due date in the past', { overdue: 1 });
  await quick(other.id, other.number, 'status_id', String(ctx.status.closed));
  await expectExact('quick edit: closed', { unassigned: -1, overdue: -1, waiting: -1 });

  // the case header
  await header(overdue.id, { responsible_id: ctx.anna.id, status_id: ctx.status.waiting, due_date: null });
  await expectExact('header edit: Anna, waiting, no due date', { mine: -1, overdue: -1, waiting: 1 });

  // a reply that sets the case waiting
  const replied = await createCase(ctx.db, newCase(), ctx.kalle);
  await expectExact('a third case', { mine: 1 });
  await addStaffReply(
    ctx.db,
    replied.id,
    { body_html: '<div>Prova nu</div>', delivery: 'to_send', to: ['per@acme.se'], set_waiting: true },
    ctx.kalle,
    { config: ctx.config },
  );
  await expectExact('a reply with "set waiting"', { waiting: 1 });

  // mail ingest (the system): a new case from an unknown sender, nobody responsible
  await receiveMail(
    ctx.db,
    ctx.config,
    testMail({ From: 'ny@okand.example', Subject: 'Hjälp' }, 'Datorn startar inte.'),
  );
  await expectExact('a new case by mail', { unassigned: 1, new_today: 1 });

  // a work order from a case
  const project = await createProject(
    ctx.db,
    { number: 'P1', name: 'Projekt', customer_id: null, responsible_id: null, active: true },
    ctx.kalle,
  );
  await createWorkOrderFromCase(
    ctx.db,
    replied.id,
    { project_id: project.id, responsible_id: null, name: 'Byt' },
    ctx.kalle,
  );
  await expectExact('a work order created', { waiting: -1, mine: 0 });

  // a merge (the system closes the merged case)
  const merged = await createCase(ctx.db, newCase({ due_date: '2022-02-02' }), ctx.kalle);
  await expectExact('a fourth case', { mine: 1, overdue: 1 });
  await applyCaseEvent(ctx.db, merged.id, { type: 'merged', into: replied.number }, null);
  await expectExact('merged into another', { mine: -1, overdue: -1 });

  // another instance: its own database pool and app, a person's quick edit and a raw system write
  const otherDb = createDb(ctx.url, 2);
  const otherApp = await buildTestApp(otherDb);
  try {
    const anna = new TestClient(otherApp);
    await anna.login('ANNA');
    const res = await anna.request({
      method: 'POST',
      url: `/cases/${overdue.number}/quick-edit`,
      form: { field: 'responsible_id', value: String(ctx.kalle.id), version: String(await version(overdue.id)) },
      headers: { 'x-csrf-token': anna.csrf },
      htmx: true,
    });
    assert.is(res.statusCode, 200, res.body);
    await expectExact('another instance gives KALLE a case', { mine: 1 });
    await otherDb.updateTable('cases').set({ due_date: '2019-12-31' }).where('id', '=', overdue.id).execute();
    await expectExact('another instance sets a due date', { overdue: 1 });
  } finally {
    await otherApp.close();
    await otherDb.destroy();
  }

  // Kontroll closes many waiting cases set-wise (the system, batches of 50)
  const waiting: number[] = [];
  for (let i = 0; i < 120; i++) {
    const kase = await createCase(
      ctx.db,
      newCase({ status_id: ctx.status.waiting, due_date: i % 3 ? null : '2023-03-03' }),
      ctx.kalle,
    );
    waiting.push(kase.id);
  }
  await expectExact('120 waiting cases', { mine: 120, waiting: 120, overdue: 40, new_today: 120 });
  const since = new Date(Date.now() - 30 * 86_400_000);
  await ctx.db.updateTable('cases').set({ waiting_since: since }).where('id', 'in', waiting).execute();
  await ctx.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: false, kontroll_close_enabled: true, kontroll_close_days: 14 })
    .execute();
  const outcome = await runKontroll(ctx.db, ctx.config, { batchSize: 50 });
  assert.is(outcome.status, 'done');
  assert.ok(outcome.status === 'done' && outcome.closed >= 120, 'Kontroll closed them');
  await expectExact('Kontroll closed them', { mine: -120, waiting: -120, overdue: -40 });

  // an administrator makes a status kind "closed": every case of that status leaves the tiles
  await createCase(ctx.db, newCase({ status_id: ctx.status.workOrder }), ctx.kalle);
  await expectExact('a case in the work order status', { mine: 1 });
  await ctx.db.updateTable('case_statuses').set({ kind: 'closed' }).where('id', '=', ctx.status.workOrder).execute();
  await expectExact('its status now counts as closed', { mine: -2 });
  await ctx.db
    .updateTable('case_statuses')
    .set({ kind: 'work_order' })
    .where('id', '=', ctx.status.workOrder)
    .execute();
  await expectExact('and back', { mine: 2 });
});

test('Overdue rolls over at midnight: a case due today becomes overdue tomorrow', async () => {
  await createCase(ctx.db, newCase({ due_date: '2031-05-10' }), ctx.kalle);
  const day = (today: string): Day => ({ today, timeZone: ctx.config.timeZone });
  const onTheDay = await countCaseTiles(ctx.db, ctx.kalle, day('2031-05-10'));
  const dayAfter = await countCaseTiles(ctx.db, ctx.kalle, day('2031-05-11'));
  assert.is(dayAfter.overdue - onTheDay.overdue, 1);
  assert.is(onTheDay.overdue, (await recount(ctx.kalle.id, '2031-05-10')).overdue);
  assert.is(dayAfter.overdue, (await recount(ctx.kalle.id, '2031-05-11')).overdue);
});

// Every counter the trigger keeps, summed over slots, against the same groups counted over cases.
async function countersAgainstRecount(db: Db) {
  const { rows: kept } = await sql<{ key: string; n: number }>`
    select tally || ':' || coalesce(responsible_id::text, '-') || ':' || coalesce(due_date::text, '-') as key,
      sum(n)::integer as n
    from case_tile_counts group by 1 having sum(n) <> 0 order by 1`.execute(db);
  const { rows: counted } = await sql<{ key: string; n: number }>`
    select key, n from (
      select 'responsible:' || coalesce(responsible_id::text, '-') || ':-' as key, count(*)::integer as n
      from cases where status_kind <> 'closed' group by responsible_id
      union all
      select 'waiting:-:-', count(*)::integer from cases where status_kind = 'waiting' having count(*) > 0
      union all
      select 'due:-:' || due_date::text, count(*)::integer
      from cases where status_kind <> 'closed' and due_date is not null group by due_date
    ) c order by 1`.execute(db);
  return { kept, counted };
}

// A deterministic pseudo-random sequence, so a failure repeats.
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

test('after a random mix of inserts, updates and deletes on several connections at once, the counters equal a recount', async () => {
  const rnd = random(20261204);
  const pick = <T>(list: T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const users = [ctx.kalle.id, ctx.anna.id, null];
  const statuses = [ctx.status.open, ctx.status.waiting, ctx.status.closed, ctx.status.workOrder];
  const dates = [null, '2024-01-01', '2024-01-02', '2030-12-31'];
  const value = (v: number | string | null) => (v === null ? sql`null` : sql`${v}`);
  // one statement of the mix; many rows at a time where it can. Each worker writes cases of its own
  // (their row locks are not what this tests), and all of them the same counters.
  const statement = (trx: Db, worker: number, round: number, step: number) => {
    const op = rnd();
    if (op < 0.3) {
      const n = 1 + Math.floor(rnd() * 20);
      return sql`insert into cases (number, title, status_id, case_type_id, responsible_id, due_date)
        select 'PROP-' || ${worker} || '-' || ${round} || '-' || ${step} || '-' || g, 'prop', ${pick(statuses)}, ${ctx.typeId},
          ${value(pick(users))}::integer, ${value(pick(dates))}::date
        from generate_series(1, ${n}) g`.execute(trx);
    }
    if (op < 0.8) {
      const column = pick(['status_id', 'responsible_id', 'due_date', 'title']);
      const set =
        column === 'status_id'
          ? sql`status_id = ${pick(statuses)}`
          : column === 'responsible_id'
            ? sql`responsible_id = ${value(pick(users))}::integer`
            : column === 'due_date'
              ? sql`due_date = ${value(pick(dates))}::date`
              : sql`title = title || '.'`;
      // a share of the test's cases, chosen by their id
      const mod = 1 + Math.floor(rnd() * 7);
      return sql`update cases set ${set}
        where number like ${`PROP-${worker}-%`} and id % ${mod} = ${Math.floor(rnd() * mod)}`.execute(trx);
    }
    return sql`delete from cases where number like ${`PROP-${worker}-%`} and id % 11 = ${Math.floor(rnd() * 11)}`.execute(
      trx,
    );
  };
  const pool = createDb(ctx.url, 6);
  try {
    for (let round = 0; round < 6; round++) {
      // six connections at once, each a transaction of a few statements; some roll back
      await Promise.all(
        Array.from({ length: 6 }, (_, worker) =>
          pool
            .transaction()
            .execute(async (trx) => {
              const steps = 1 + Math.floor(rnd() * 4);
              for (let step = 0; step < steps; step++) await statement(trx, worker, round, step);
              if (rnd() < 0.2) throw new Error('rolled back');
            })
            .catch((error: Error) => {
              if (error.message !== 'rolled back') throw error;
            }),
        ),
      );
      if (round === 3) await foldTileCounts(pool);
      const { kept, counted } = await countersAgainstRecount(ctx.db);
      assert.equal(kept, counted, `after round ${round}`);
    }
  } finally {
    await pool.destroy();
  }
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::integer as n from cases where number like 'PROP-%'`.execute(ctx.db);
  assert.ok(rows[0]?.n, 'the mix left cases to count');
});

test('folding leaves one row per counter and the same sums; a rebuild counts the same', async () => {
  const before = await countersAgainstRecount(ctx.db);
  await foldTileCounts(ctx.db);
  const { rows } = await sql<{ rows: number; keys: number; zero: number }>`
    select count(*)::integer as rows,
      count(distinct (tally, responsible_id, due_date))::integer as keys,
      count(*) filter (where n = 0)::integer as zero
    from case_tile_counts`.execute(ctx.db);
  const shape = rows[0];
  assert.ok(shape && shape.keys > 0);
  assert.is(shape?.rows, shape?.keys, 'one row per counter');
  assert.is(shape?.zero, 0, 'no counter left at zero');
  const folded = await countersAgainstRecount(ctx.db);
  assert.equal(folded.kept, before.counted);
  await sql`delete from case_tile_counts`.execute(ctx.db);
  await rebuildTileCounts(ctx.db);
  const rebuilt = await countersAgainstRecount(ctx.db);
  assert.equal(rebuilt.kept, before.counted);
});

test.run();
