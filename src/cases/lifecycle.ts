import type { CaseEventKind, StatusKind } from '../db/schema.ts';

// The case lifecycle: what each event does to a case's status and its two clocks. Pure, no SQL;
// applyCaseEvent (case-events.ts) locks the row, asks decideCaseEvent and writes the answer, and
// is the only code that changes a case's status_id, closed_at and waiting_since.
// Database triggers that mirror it: cases_track_waiting_since (the waiting clock, for writers that
// bypass applyCaseEvent) and cases_count_tiles (the overview tiles' counters, src/cases/tile-counts.ts:
// a case counts as unfinished while its kind is not 'closed'); a change to what counts as
// finished or waiting here changes them too.

export const statusKinds = ['open', 'waiting', 'work_order', 'closed'] as const satisfies readonly StatusKind[];

// A status as an event names it: the row chosen (an agent's pick, Kontroll's setting, a mailbox
// default). S is the status id as callers pass it; applyCaseEvent adds its kind before deciding.
export type NamedStatus = { id: number; kind: StatusKind };

export type CaseEvent<S = NamedStatus> =
  // a new case: the given status (the form's, a mailbox default), else the first open one
  | { type: 'created'; status?: S; via?: 'email' }
  // an agent chose a status (header edit, quick edit)
  | { type: 'status_set'; status: S }
  // a reply went to the customer; with setWaiting the case waits for the customer from now on
  | { type: 'reply_sent'; setWaiting: boolean }
  // Undo send took back a reply that had set Waiting: the status it replaced comes back
  | { type: 'send_undone'; status: S }
  // the customer wrote in an open, waiting or work-order case (a closed one is reopened or followed)
  | { type: 'customer_replied' }
  // the customer wrote in a recently closed case
  | { type: 'reopened' }
  | { type: 'kontroll_reminded'; to: string | null }
  | { type: 'kontroll_closed'; status: S }
  | { type: 'work_order_created' }
  // a document case goes (again) to its approvers, or its chain has ended
  | { type: 'approval_opened' }
  | { type: 'approval_closed' }
  // (for later) the case was merged into another, which carries on
  | { type: 'merged'; into: string };
export type CaseEventType = CaseEvent['type'];

export type CaseState = {
  statusId: number;
  statusKind: StatusKind;
  // when the current waiting period began; null unless waiting
  waitingSince: Date | null;
  // when the case was closed; null unless closed
  closedAt: Date | null;
};

// The status a transition moves to: a named one, or the first active status of a kind. optional:
// without such a status the change is left out (a reply's "set Waiting" when no Waiting exists).
export type StatusTarget = { id: number; kind: StatusKind } | { id: null; kind: StatusKind; optional?: true };

export type Transition = {
  // null: the status stays
  status: StatusTarget | null;
  waitingSince: Date | null;
  closedAt: Date | null;
  // the history row's kind; null: nothing to record
  record: CaseEventRowKind | null;
};

// The kinds of history row the lifecycle writes, each with the status change on it when there is one.
export type CaseEventRowKind = Extract<
  CaseEventKind,
  'created' | 'field_changed' | 'reopened' | 'kontroll_reminder' | 'kontroll_closed' | 'merged'
>;

const firstOf = (kind: StatusKind): StatusTarget => ({ id: null, kind });

// Where the status goes, before the clocks are worked out.
function targetOf(state: CaseState, event: CaseEvent): StatusTarget | null {
  switch (event.type) {
    case 'created':
      return event.status ?? firstOf('open');
    case 'status_set':
    case 'send_undone':
      return event.status;
    case 'reply_sent':
      return event.setWaiting && state.statusKind !== 'waiting' ? { id: null, kind: 'waiting', optional: true } : null;
    case 'customer_replied':
      return state.statusKind === 'waiting' ? firstOf('open') : null;
    case 'reopened':
      return state.statusKind === 'closed' ? firstOf('open') : null;
    case 'kontroll_reminded':
      return null;
    case 'kontroll_closed':
      // Kontroll re-checks under the lock; a case no longer waiting is not its to close
      return state.statusKind === 'waiting' ? event.status : null;
    case 'work_order_created':
      return firstOf('work_order');
    case 'approval_opened':
      return firstOf('open');
    case 'approval_closed':
    case 'merged':
      return firstOf('closed');
  }
}

const rowKindOf: Record<CaseEventType, CaseEventRowKind> = {
  created: 'created',
  status_set: 'field_changed',
  reply_sent: 'field_changed',
  send_undone: 'field_changed',
  customer_replied: 'field_changed',
  reopened: 'reopened',
  kontroll_reminded: 'kontroll_reminder',
  kontroll_closed: 'kontroll_closed',
  work_order_created: 'field_changed',
  approval_opened: 'field_changed',
  approval_closed: 'field_changed',
  merged: 'merged',
};

// Events that are history even when the status stays.
const alwaysRecorded: ReadonlySet<CaseEventType> = new Set(['created', 'kontroll_reminded', 'merged']);

// The answer for one event in one state. For 'created', `state` is ignored: a new case has no past.
// The target's kind decides the clocks: entering Waiting starts a period, staying keeps it (a
// reply to the customer restarts it), leaving clears it; closed_at likewise for Closed.
export function decideCaseEvent(state: CaseState, event: CaseEvent, now: Date): Transition {
  const before: CaseState =
    event.type === 'created' ? { statusId: 0, statusKind: 'open', waitingSince: null, closedAt: null } : state;
  let target = targetOf(before, event);
  // the same status again is no change
  if (target && target.id !== null && target.id === before.statusId && event.type !== 'created') target = null;
  if (target && target.id === null && target.kind === before.statusKind && event.type !== 'created') target = null;
  const kind = target?.kind ?? before.statusKind;
  const entering = (k: StatusKind) => kind === k && (event.type === 'created' || before.statusKind !== k);
  const replyRestarts = event.type === 'reply_sent' && before.statusKind === 'waiting';
  const waitingSince =
    kind !== 'waiting' ? null : entering('waiting') || replyRestarts ? now : (before.waitingSince ?? now);
  const closedAt = kind !== 'closed' ? null : entering('closed') ? now : (before.closedAt ?? now);
  const record = target || alwaysRecorded.has(event.type) ? rowKindOf[event.type] : null;
  return { status: target, waitingSince, closedAt, record };
}
