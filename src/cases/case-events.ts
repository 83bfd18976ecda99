import { type RawBuilder, sql } from 'kysely';
import { type Db, prepared } from '../db/database.ts';
import { type Case, type CaseEventKind, type CaseNoteKind, caseColumns, type StatusKind } from '../db/schema.ts';
import { slaEventsOf } from '../service-levels/clock.ts';
import type { SlaEvent } from '../service-levels/types.ts';
import { advanceCaseClocks, type ClockColumns, clockEventsInsert, recordClockEvents } from './case-clock.ts';
import {
  type CaseEvent,
  type CaseState,
  decideCaseEvent,
  type NamedStatus,
  type StatusTarget,
  type Transition,
} from './lifecycle.ts';
import { findStatusOfKind, listStatusesOfCases, MissingStatusError } from './statuses.ts';

// Every kind a case_events row may have, as listed in the database's check (migration
// 20261202_1517_case_lifecycle); a test holds the three in step.
export const caseEventKinds = [
  'created',
  'field_changed',
  'reopened',
  'kontroll_reminder',
  'kontroll_closed',
  'merged',
  'reply_added',
  'email_queued',
  'email_sent',
  'email_recalled',
  'mail_received',
  'auto_reply_received',
  'mail_bounced',
  'follow_up_created',
  'follows_case',
  'document_added',
  'document_version_added',
  'document_deleted',
  'discussion_post',
  'discussion_post_deleted',
  'internal_note_saved',
  'work_order_created',
  'triage_cleared',
  'sla_breached',
  'case_linked',
  'case_unlinked',
  'merged_in',
  'split_off',
  'split_from',
] as const satisfies readonly CaseEventKind[];

export type CaseActor = { id: number } | null;

// A history note: a reply, a mail, a document, a discussion post. State changes go through
// applyCaseEvent instead. field qualifies a note where its kind alone does not say enough (a case
// link: the other case's role, src/case-links/); null for the rest.
export async function recordCaseEvent(
  db: Db,
  caseId: number,
  kind: CaseNoteKind,
  actor: CaseActor,
  values: { field?: string | null; old_value?: string | null; new_value?: string | null } = {},
): Promise<void> {
  await db
    .insertInto('case_events')
    .values({
      case_id: caseId,
      user_id: actor?.id ?? null,
      kind,
      field: values.field ?? null,
      old_value: values.old_value ?? null,
      new_value: values.new_value ?? null,
    })
    .execute();
}

// The set-wise form: several notes (a mail's documents) in one insert, in the order given.
export async function recordCaseEvents(
  db: Db,
  notes: { caseId: number; kind: CaseNoteKind; old_value?: string | null; new_value?: string | null }[],
  actor: CaseActor,
): Promise<void> {
  if (!notes.length) return;
  await db
    .insertInto('case_events')
    .values(
      notes.map((note) => ({
        case_id: note.caseId,
        user_id: actor?.id ?? null,
        kind: note.kind,
        field: null,
        old_value: note.old_value ?? null,
        new_value: note.new_value ?? null,
      })),
    )
    .execute();
}

// recordCaseEvents as a part of another domain's set-wise statement (a data-modifying CTE), for a
// caller whose notes name rows it inserts in that same statement (a mail's documents): one round
// trip instead of two, and the case_events columns stay written here. notes: a query yielding
// (case_id, kind, new_value, n), n the order the notes are kept in.
export function caseNotesInsertSql(notes: RawBuilder<unknown>, actor: CaseActor): RawBuilder<unknown> {
  return sql`insert into case_events (case_id, user_id, kind, field, old_value, new_value)
    select note.case_id, ${actor?.id ?? null}::int, note.kind, null, null, note.new_value
      from (${notes}) as note (case_id, kind, new_value, n)
     order by note.n`;
}

export type AppliedCaseEvent = {
  caseId: number;
  statusChanged: boolean;
  previousStatusId: number;
  statusId: number;
  statusKind: StatusKind;
};

type LockedCase = CaseState & { id: number };

// The first active status of each kind, remembered by a caller that creates many cases in a few
// seconds (one Read mail run); a status the administrator adds meanwhile counts from the next run.
export type StatusKindCache = Map<StatusKind, number | null>;

// Resolves the statuses a batch of transitions needs: named ones to their kind, kinds to the
// first active status of that kind, each looked up once.
class StatusResolver {
  private readonly named = new Map<number, StatusKind>();
  constructor(
    private readonly db: Db,
    private readonly kinds: StatusKindCache = new Map(),
  ) {}

  async name(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.named.has(id));
    if (!missing.length) return;
    const wanted = new Set(missing);
    for (const row of await listStatusesOfCases(this.db)) if (wanted.has(row.id)) this.named.set(row.id, row.kind);
  }

  status(id: number): NamedStatus {
    const kind = this.named.get(id);
    if (!kind) throw new Error(`No case status ${id}`);
    return { id, kind };
  }

  async firstOf(kind: StatusKind): Promise<number | null> {
    if (!this.kinds.has(kind)) this.kinds.set(kind, await findStatusOfKind(this.db, kind));
    return this.kinds.get(kind) ?? null;
  }
}

function namedIdOf(event: CaseEvent<number>): number | null {
  return 'status' in event && event.status !== undefined ? event.status : null;
}

function withNamedStatus(event: CaseEvent<number>, resolver: StatusResolver): CaseEvent {
  const id = namedIdOf(event);
  return id === null ? (event as CaseEvent) : ({ ...event, status: resolver.status(id) } as CaseEvent);
}

// The transition with its status resolved to a row. A first-of-kind the database lacks is an
// error, unless the table marked it optional (then the event acts as if it asked for no change).
async function resolveTransition(
  state: CaseState,
  event: CaseEvent,
  now: Date,
  resolver: StatusResolver,
): Promise<{ transition: Transition; statusId: number; statusKind: StatusKind }> {
  let transition = decideCaseEvent(state, event, now);
  let target: StatusTarget | null = transition.status;
  if (target && target.id === null) {
    const id = await resolver.firstOf(target.kind);
    if (id === null) {
      if (!target.optional || event.type !== 'reply_sent') throw new MissingStatusError(target.kind);
      transition = decideCaseEvent(state, { type: 'reply_sent', setWaiting: false }, now);
      target = null;
    } else {
      target = { id, kind: target.kind };
    }
  }
  return {
    transition,
    statusId: target?.id ?? state.statusId,
    statusKind: target?.kind ?? state.statusKind,
  };
}

const sameTime = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

// The one writer of a case's state: locks the row, asks the lifecycle table, resolves the status
// and writes the case and one history row. Inside the caller's transaction when given one.
export async function applyCaseEvent(
  db: Db,
  caseId: number,
  event: CaseEvent<number>,
  actor: CaseActor,
  opts: { now?: Date } = {},
): Promise<AppliedCaseEvent> {
  const [applied] = await applyCaseEvents(db, [{ caseId, event }], actor, opts);
  return applied as AppliedCaseEvent;
}

// The set-wise form (Kontroll's batches): one lock, one update and one insert for all the cases.
// Events for the same case apply in the order given.
export async function applyCaseEvents(
  db: Db,
  items: { caseId: number; event: CaseEvent<number> }[],
  actor: CaseActor,
  opts: { now?: Date } = {},
): Promise<AppliedCaseEvent[]> {
  if (!items.length) return [];
  if (!db.isTransaction) return db.transaction().execute((trx) => applyCaseEvents(trx, items, actor, opts));
  return (await applyEvents(db, items, actor, opts)).applied;
}

// applyCaseEvent for a case the caller's transaction has already locked and read (a header
// edit): no second lock, and the case comes back as written, so the caller reads it no more.
export async function applyCaseEventToLocked(
  trx: Db,
  locked: Case,
  event: CaseEvent<number>,
  actor: CaseActor,
): Promise<Case> {
  const { written } = await applyEvents(trx, [{ caseId: locked.id, event }], actor, { locked: [locked] });
  return written.get(locked.id) ?? locked;
}

// what the lifecycle reads of a case it locks, or takes from a caller that locked it
const lockedColumns = [
  'id',
  'status_id',
  'status_kind',
  'waiting_since',
  'closed_at',
  'customer_id',
  'priority_id',
  'case_type_id',
  'sla_policy_id',
  'sla_clock',
] as const satisfies readonly (keyof Case)[];
type LockedRow = Pick<Case, (typeof lockedColumns)[number]>;

async function applyEvents(
  db: Db,
  items: { caseId: number; event: CaseEvent<number> }[],
  actor: CaseActor,
  opts: { now?: Date; locked?: LockedRow[] },
): Promise<{ applied: AppliedCaseEvent[]; written: Map<number, Case> }> {
  const now = opts.now ?? new Date();
  const ids = [...new Set(items.map((i) => i.caseId))];
  // Locked in id order, so two writers of overlapping sets (two Kontroll batches, a batch and an
  // agent) queue instead of deadlocking; read after the lock, so the table sees the latest state.
  const rows: LockedRow[] =
    opts.locked ??
    (await db.selectFrom('cases').select(lockedColumns).where('id', 'in', ids).orderBy('id').forUpdate().execute());
  const states = new Map<number, LockedCase>(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        statusId: r.status_id,
        statusKind: r.status_kind,
        waitingSince: r.waiting_since,
        closedAt: r.closed_at,
      },
    ]),
  );
  const resolver = new StatusResolver(db);
  await resolver.name(items.map((i) => namedIdOf(i.event)).filter((id) => id !== null));

  const originals = new Map([...states].map(([id, s]) => [id, { ...s }]));
  const versionBumps = new Map<number, number>();
  const touched = new Set<number>();
  const eventRows: {
    case_id: number;
    user_id: number | null;
    kind: CaseEventKind;
    field: string | null;
    old_value: string | null;
    new_value: string | null;
  }[] = [];
  const applied: AppliedCaseEvent[] = [];
  // what the service-level clock hears, per case and in all, in the order applied
  const clockHeard = new Map<number, SlaEvent[]>();
  const clockLog: { caseId: number; event: SlaEvent }[] = [];
  for (const { caseId, event } of items) {
    const state = states.get(caseId);
    if (!state) throw new Error(`No case ${caseId}`);
    const { transition, statusId, statusKind } = await resolveTransition(
      state,
      withNamedStatus(event, resolver),
      now,
      resolver,
    );
    const statusChanged = statusId !== state.statusId;
    for (const heard of slaEventsOf(
      { event: event.type, before: state.statusKind, after: statusKind },
      now.toISOString(),
    )) {
      clockHeard.set(caseId, [...(clockHeard.get(caseId) ?? []), heard]);
      clockLog.push({ caseId, event: heard });
    }
    applied.push({ caseId, statusChanged, previousStatusId: state.statusId, statusId, statusKind });
    if (statusChanged) versionBumps.set(caseId, (versionBumps.get(caseId) ?? 0) + 1);
    if (transition.record) {
      touched.add(caseId);
      // a merge's line names the case it went into (its closing goes without saying)
      const namesStatus = statusChanged && transition.record !== 'merged';
      eventRows.push({
        case_id: caseId,
        user_id: actor?.id ?? null,
        kind: transition.record,
        field: namesStatus ? 'status_id' : null,
        old_value: namesStatus ? String(state.statusId) : null,
        new_value: namesStatus ? String(statusId) : noteOf(event),
      });
    }
    states.set(caseId, {
      id: caseId,
      statusId,
      statusKind,
      waitingSince: transition.waitingSince,
      closedAt: transition.closedAt,
    });
  }

  const clocks = await advanceCaseClocks(db, rows, clockHeard);
  const changed = [...states.values()].filter((s) => {
    const before = originals.get(s.id) as LockedCase;
    return (
      clocks.has(s.id) ||
      versionBumps.has(s.id) ||
      touched.has(s.id) ||
      !sameTime(before.waitingSince, s.waitingSince) ||
      !sameTime(before.closedAt, s.closedAt)
    );
  });
  const written = new Map<number, Case>();
  // the written rows only for a caller that read the case itself (a header edit), not for
  // Kontroll's batches of thousands
  const returning = opts.locked
    ? sql`returning ${sql.join(caseColumns.map((column) => sql.ref(`c.${column}`)))}`
    : sql``;
  if (changed.length) {
    // status_kind follows status_id by the trigger cases_status_kind (migration 0005), which
    // also keeps it right when an administrator changes a status's kind.
    // One statement writes the cases, their history rows and what their clocks heard: a quick
    // edit is one round trip here instead of three (issue 16). prepared: the same text at every
    // status change, parsed once (src/db/database.ts)
    const updated = await sql<Case>`${prepared}with history as (
        insert into case_events (case_id, user_id, kind, field, old_value, new_value)
        select e.case_id, e.user_id, e.kind, e.field, e.old_value, e.new_value from unnest(
          ${eventRows.map((e) => e.case_id)}::integer[],
          ${eventRows.map((e) => e.user_id)}::integer[],
          ${eventRows.map((e) => e.kind)}::text[],
          ${eventRows.map((e) => e.field)}::text[],
          ${eventRows.map((e) => e.old_value)}::text[],
          ${eventRows.map((e) => e.new_value)}::text[]
        ) with ordinality as e(case_id, user_id, kind, field, old_value, new_value, n) order by n
      ), heard as (${clockEventsInsert(clockLog)})
      update cases c set
        status_id = v.status_id,
        waiting_since = v.waiting_since,
        closed_at = v.closed_at,
        version = c.version + v.bump,
        updated_at = case when v.bump > 0 then ${now}::timestamptz else c.updated_at end,
        last_activity_at = case when v.touched then ${now}::timestamptz else c.last_activity_at end,
        sla_policy_id = case when v.clocked then v.sla_policy_id else c.sla_policy_id end,
        sla_clock = case when v.clocked then v.sla_clock else c.sla_clock end,
        sla_due_at = case when v.clocked then v.sla_due_at else c.sla_due_at end,
        sla_warn_at = case when v.clocked then v.sla_warn_at else c.sla_warn_at end
      from unnest(
        ${changed.map((s) => s.id)}::integer[],
        ${changed.map((s) => s.statusId)}::integer[],
        ${changed.map((s) => s.waitingSince)}::timestamptz[],
        ${changed.map((s) => s.closedAt)}::timestamptz[],
        ${changed.map((s) => versionBumps.get(s.id) ?? 0)}::integer[],
        ${changed.map((s) => touched.has(s.id))}::boolean[],
        ${changed.map((s) => clocks.has(s.id))}::boolean[],
        ${changed.map((s) => clocks.get(s.id)?.sla_policy_id ?? null)}::integer[],
        ${changed.map((s) => clockJson(clocks.get(s.id)))}::jsonb[],
        ${changed.map((s) => clocks.get(s.id)?.sla_due_at ?? null)}::timestamptz[],
        ${changed.map((s) => clocks.get(s.id)?.sla_warn_at ?? null)}::timestamptz[]
      ) as v(id, status_id, waiting_since, closed_at, bump, touched, clocked, sla_policy_id, sla_clock, sla_due_at, sla_warn_at)
      where c.id = v.id
      ${returning}`.execute(db);
    for (const row of updated.rows) written.set(row.id, row);
  } else {
    // no case changes (a history row always touches its case): what the clocks heard is still kept
    await recordClockEvents(db, clockLog);
  }
  return { applied, written };
}

const clockJson = (columns: ClockColumns | undefined) =>
  columns?.sla_clock ? JSON.stringify(columns.sla_clock) : null;

function noteOf(event: CaseEvent<number>): string | null {
  switch (event.type) {
    case 'created':
      return event.via ?? null;
    case 'kontroll_reminded':
      return event.to;
    case 'merged':
      return event.into;
    default:
      return null;
  }
}

// A new case's starting state, for the one place that inserts cases (createCaseRecord).
export async function startingState(
  db: Db,
  statusId: number | null,
  via: 'email' | undefined,
  now: Date,
  kinds?: StatusKindCache,
): Promise<{
  statusId: number;
  statusKind: StatusKind;
  waitingSince: Date | null;
  closedAt: Date | null;
  note: string | null;
}> {
  const resolver = new StatusResolver(db, kinds);
  if (statusId !== null) await resolver.name([statusId]);
  const event: CaseEvent<number> = { type: 'created', ...(statusId !== null ? { status: statusId } : {}), via };
  const blank: CaseState = { statusId: 0, statusKind: 'open', waitingSince: null, closedAt: null };
  const {
    transition,
    statusId: resolved,
    statusKind,
  } = await resolveTransition(blank, withNamedStatus(event, resolver), now, resolver);
  return {
    statusId: resolved,
    statusKind,
    waitingSince: transition.waitingSince,
    closedAt: transition.closedAt,
    note: via ?? null,
  };
}

// A merge moves the merged case's history to the case it was merged into, each line remembering
// the case it happened in (src/cases/merge.ts).
export async function moveCaseHistory(trx: Db, fromCaseId: number, toCaseId: number): Promise<void> {
  await trx
    .updateTable('case_events')
    .set({ case_id: toCaseId, moved_from_case_id: sql`coalesce(moved_from_case_id, ${fromCaseId})` })
    .where('case_id', '=', fromCaseId)
    .execute();
}
