import { sql } from 'kysely';
import { createCase } from '../cases/cases.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { addStaffReply } from '../threads/threads.ts';

// What the bench asks the app for. Overview scenarios carry their query string, so the same
// filter can be timed directly against PostgreSQL.
export type Scenario = {
  key: string;
  name: string;
  path: string;
  overviewQuery?: Record<string, string>;
  quickEdit?: QuickEditPlan;
};

export type QuickEditPlan = {
  cases: { id: number; number: string; version: number; statusId: number }[];
  statuses: [number, number];
};

export const searchWord = 'skrivaren';
// What else people type into the search (issue 16): a contact's surname, a contact's address and a
// part of a case number. The synthetic seed (src/demo/synthetic-data.ts) is deterministic, so
// these exist in every bench database it made.
export const searchName = 'Karlsson';
export const searchEmail = 'kerstin.larsson@anderssonbygg-stockholm.se';
export const searchNumberPart = '00019';
const longThread = { min: 45, max: 60, wanted: 50 };

// A case with about fifty thread entries: one the seed made, or else one made now through the
// same domain functions the app uses.
export async function findOrCreateLongThreadCase(db: Db, user: User): Promise<string> {
  const found = await sql<{ number: string }>`
    select c.number from cases c
    join (select case_id from thread_entries group by case_id having count(*) between ${longThread.min} and ${longThread.max}
          limit 1) t on t.case_id = c.id`
    .execute(db)
    .then((r) => r.rows[0]);
  if (found) return found.number;

  const [status, type, customer] = await Promise.all([
    db
      .selectFrom('case_statuses')
      .select('id')
      .where('kind', '=', 'open')
      .orderBy('position')
      .executeTakeFirstOrThrow(),
    db.selectFrom('case_types').select('id').orderBy('position').executeTakeFirstOrThrow(),
    db.selectFrom('customers').select('id').where('active', '=', true).orderBy('id').executeTakeFirstOrThrow(),
  ]);
  const created = await createCase(
    db,
    {
      title: 'Skrivaren fastnar – lång tråd',
      responsible_id: user.id,
      customer_id: customer.id,
      status_id: status.id,
      case_type_id: type.id,
      priority_id: null,
      due_date: null,
      contact_id: null,
      contact_name: 'Lars Bergström',
      contact_email: null,
      contact_phone: null,
      body_html: '<div>Skrivaren på andra våningen fastnar på varje utskrift.</div>',
    },
    user,
  );
  for (let i = 1; i < longThread.wanted; i++) {
    await addStaffReply(
      db,
      created.id,
      { body_html: `<div>Uppföljning ${i}: vi felsöker skrivaren vidare.</div>`, delivery: 'saved' },
      user,
    );
  }
  return created.number;
}

// Cases whose status the bench flips back and forth, one per connection so concurrent edits
// of one case (refused as stale) do not blur the measurement; newest unfinished ones first.
export async function planQuickEdits(db: Db, count: number): Promise<QuickEditPlan> {
  const statusOf = (kind: 'open' | 'waiting') =>
    db
      .selectFrom('case_statuses')
      .select('id')
      .where('kind', '=', kind)
      .where('active', '=', true)
      .orderBy('position')
      .executeTakeFirstOrThrow();
  const [open, waiting] = await Promise.all([statusOf('open'), statusOf('waiting')]);
  const cases = await db
    .selectFrom('cases')
    .select(['id', 'number', 'version', 'status_id'])
    .where('status_kind', 'in', ['open', 'waiting'])
    .orderBy('id', 'desc')
    .limit(count)
    .execute();
  return {
    cases: cases.map((c) => ({ id: c.id, number: c.number, version: c.version, statusId: c.status_id })),
    statuses: [open.id, waiting.id],
  };
}

// The versions and statuses as stored now: a run that ends leaves edits in flight whose
// answers the load generator never reads.
export async function refreshQuickEdits(db: Db, plan: QuickEditPlan): Promise<void> {
  if (!plan.cases.length) return;
  const rows = await db
    .selectFrom('cases')
    .select(['id', 'version', 'status_id'])
    .where(
      'id',
      'in',
      plan.cases.map((c) => c.id),
    )
    .execute();
  for (const row of rows) {
    const kase = plan.cases.find((c) => c.id === row.id);
    if (kase) Object.assign(kase, { version: row.version, statusId: row.status_id });
  }
}

export function overviewScenarios(): Scenario[] {
  const overview = (key: string, name: string, query: Record<string, string>): Scenario => {
    const qs = new URLSearchParams(query).toString();
    return { key, name, path: `/cases${qs ? `?${qs}` : ''}`, overviewQuery: query };
  };
  return [
    overview('a', 'overview: my open cases', {}),
    overview('b', `overview: search "${searchWord}"`, { resp: 'any', q: searchWord }),
    overview('c', 'overview: closed, page 200', { resp: 'any', kind: 'closed', page: '200' }),
    overview('f', `overview: search name "${searchName}"`, { resp: 'any', q: searchName }),
    overview('g', `overview: search e-mail "${searchEmail}"`, { resp: 'any', q: searchEmail }),
    overview('h', `overview: search number part "${searchNumberPart}"`, { resp: 'any', q: searchNumberPart }),
    // the "Alla" tab: a common word over every case, a million closed ones included
    overview('i', `overview: search "${searchWord}", all cases`, { resp: 'any', kind: 'all', q: searchWord }),
    // service levels (issue 17): the "SLA at risk" tile's list over everyone's cases, and my
    // open cases by next deadline; both read the partial indexes on sla_warn_at / sla_due_at
    overview('j', 'overview: SLA at risk', { resp: 'any', sla: 'at_risk' }),
    overview('k', 'overview: sort by next deadline', { sort: 'sla' }),
  ];
}
