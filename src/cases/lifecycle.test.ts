import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusKind } from '../db/schema.ts';
import { type CaseEvent, type CaseEventRowKind, type CaseState, decideCaseEvent, statusKinds } from './lifecycle.ts';

const test = suite('The case lifecycle');

// One status of each kind, as an administrator might have them: ids 1–4 are the first of their
// kind; 5 and 6 are a second waiting and a second closed status.
const first: Record<StatusKind, number> = { open: 1, waiting: 2, work_order: 3, closed: 4 };
const named = (kind: StatusKind, id = first[kind]) => ({ id, kind });

const events: Record<string, CaseEvent> = {
  'agent sets Open': { type: 'status_set', status: named('open') },
  'agent sets Waiting': { type: 'status_set', status: named('waiting') },
  'agent sets To work order': { type: 'status_set', status: named('work_order') },
  'agent sets Closed': { type: 'status_set', status: named('closed') },
  'reply sent': { type: 'reply_sent', setWaiting: false },
  'reply sent with Waiting': { type: 'reply_sent', setWaiting: true },
  'Undo send restores Open': { type: 'send_undone', status: named('open') },
  'customer replied': { type: 'customer_replied' },
  reopened: { type: 'reopened' },
  'Kontroll reminded': { type: 'kontroll_reminded', to: 'per@acme.se' },
  'Kontroll closed': { type: 'kontroll_closed', status: named('closed') },
  'work order created': { type: 'work_order_created' },
  'approval opened': { type: 'approval_opened' },
  'approval closed': { type: 'approval_closed' },
  merged: { type: 'merged', into: '2026-00042' },
};

// [status kind after ('=' stays), waiting_since, closed_at, history row]. Clocks: 'new' starts
// now, 'kept' is the one before, '-' is null.
type Clock = 'new' | 'kept' | '-';
type Cell = [StatusKind | '=', Clock, Clock, CaseEventRowKind | null];
const fc = 'field_changed';

// Every event in every state, written out: a change to the table shows here as a failing line.
const expected: Record<StatusKind, Record<keyof typeof events, Cell>> = {
  open: {
    'agent sets Open': ['=', '-', '-', null],
    'agent sets Waiting': ['waiting', 'new', '-', fc],
    'agent sets To work order': ['work_order', '-', '-', fc],
    'agent sets Closed': ['closed', '-', 'new', fc],
    'reply sent': ['=', '-', '-', null],
    'reply sent with Waiting': ['waiting', 'new', '-', fc],
    'Undo send restores Open': ['=', '-', '-', null],
    'customer replied': ['=', '-', '-', null],
    reopened: ['=', '-', '-', null],
    'Kontroll reminded': ['=', '-', '-', 'kontroll_reminder'],
    'Kontroll closed': ['=', '-', '-', null],
    'work order created': ['work_order', '-', '-', fc],
    'approval opened': ['=', '-', '-', null],
    'approval closed': ['closed', '-', 'new', fc],
    merged: ['closed', '-', 'new', 'merged'],
  },
  waiting: {
    'agent sets Open': ['open', '-', '-', fc],
    'agent sets Waiting': ['=', 'kept', '-', null],
    'agent sets To work order': ['work_order', '-', '-', fc],
    'agent sets Closed': ['closed', '-', 'new', fc],
    'reply sent': ['=', 'new', '-', null],
    'reply sent with Waiting': ['=', 'new', '-', null],
    'Undo send restores Open': ['open', '-', '-', fc],
    'customer replied': ['open', '-', '-', fc],
    reopened: ['=', 'kept', '-', null],
    'Kontroll reminded': ['=', 'kept', '-', 'kontroll_reminder'],
    'Kontroll closed': ['closed', '-', 'new', 'kontroll_closed'],
    'work order created': ['work_order', '-', '-', fc],
    'approval opened': ['open', '-', '-', fc],
    'approval closed': ['closed', '-', 'new', fc],
    merged: ['closed', '-', 'new', 'merged'],
  },
  work_order: {
    'agent sets Open': ['open', '-', '-', fc],
    'agent sets Waiting': ['waiting', 'new', '-', fc],
    'agent sets To work order': ['=', '-', '-', null],
    'agent sets Closed': ['closed', '-', 'new', fc],
    'reply sent': ['=', '-', '-', null],
    'reply sent with Waiting': ['waiting', 'new', '-', fc],
    'Undo send restores Open': ['open', '-', '-', fc],
    'customer replied': ['=', '-', '-', null],
    reopened: ['=', '-', '-', null],
    'Kontroll reminded': ['=', '-', '-', 'kontroll_reminder'],
    'Kontroll closed': ['=', '-', '-', null],
    'work order created': ['=', '-', '-', null],
    'approval opened': ['open', '-', '-', fc],
    'approval closed': ['closed', '-', 'new', fc],
    merged: ['closed', '-', 'new', 'merged'],
  },
  closed: {
    'agent sets Open': ['open', '-', '-', fc],
    'agent sets Waiting': ['waiting', 'new', '-', fc],
    'agent sets To work order': ['work_order', '-', '-', fc],
    'agent sets Closed': ['=', '-', 'kept', null],
    'reply sent': ['=', '-', 'kept', null],
    'reply sent with Waiting': ['waiting', 'new', '-', fc],
    'Undo send restores Open': ['open', '-', '-', fc],
    'customer replied': ['=', '-', 'kept', null],
    reopened: ['open', '-', '-', 'reopened'],
    'Kontroll reminded': ['=', '-', 'kept', 'kontroll_reminder'],
    'Kontroll closed': ['=', '-', 'kept', null],
    'work order created': ['work_order', '-', '-', fc],
    'approval opened': ['open', '-', '-', fc],
    'approval closed': ['=', '-', 'kept', null],
    merged: ['=', '-', 'kept', 'merged'],
  },
};

const before = new Date('2026-11-01T08:00:00Z');
const now = new Date('2026-11-27T14:05:00Z');
const stateOf = (kind: StatusKind, id = first[kind]): CaseState => ({
  statusId: id,
  statusKind: kind,
  waitingSince: kind === 'waiting' ? before : null,
  closedAt: kind === 'closed' ? before : null,
});
const clock = (c: Clock) => (c === 'new' ? now : c === 'kept' ? before : null);

for (const from of statusKinds) {
  for (const [name, event] of Object.entries(events)) {
    const [kind, waiting, closed, record] = expected[from][name] as Cell;
    test(`${from}: ${name} → ${kind === '=' ? 'stays' : kind}`, () => {
      const t = decideCaseEvent(stateOf(from), event, now);
      assert.is(t.status?.kind ?? '=', kind);
      assert.equal([t.waitingSince, t.closedAt, t.record], [clock(waiting), clock(closed), record]);
    });
  }
}

test('a status named by the event is kept; a kind means its first active status', () => {
  assert.equal(
    decideCaseEvent(stateOf('open'), events['agent sets Waiting'] as CaseEvent, now).status,
    named('waiting'),
  );
  assert.equal(decideCaseEvent(stateOf('waiting'), { type: 'customer_replied' }, now).status, {
    id: null,
    kind: 'open',
  });
  // a reply's "set Waiting" is dropped, not an error, where no Waiting status exists
  assert.equal(decideCaseEvent(stateOf('open'), { type: 'reply_sent', setWaiting: true }, now).status, {
    id: null,
    kind: 'waiting',
    optional: true,
  });
});

test('another status of the same kind is a change that keeps the clock', () => {
  const waiting = decideCaseEvent(stateOf('waiting'), { type: 'status_set', status: named('waiting', 5) }, now);
  assert.equal([waiting.status, waiting.waitingSince, waiting.record], [named('waiting', 5), before, fc]);
  const closed = decideCaseEvent(stateOf('closed'), { type: 'status_set', status: named('closed', 6) }, now);
  assert.equal([closed.status, closed.closedAt, closed.record], [named('closed', 6), before, fc]);
});

test('a new case starts in the status given, else the first open one, with its clock', () => {
  const none = stateOf('open');
  assert.equal(decideCaseEvent(none, { type: 'created' }, now), {
    status: { id: null, kind: 'open' },
    waitingSince: null,
    closedAt: null,
    record: 'created',
  });
  assert.equal(decideCaseEvent(none, { type: 'created', status: named('waiting'), via: 'email' }, now), {
    status: named('waiting'),
    waitingSince: now,
    closedAt: null,
    record: 'created',
  });
  // even a status equal to what the blank state holds is the new case's status
  const closed = decideCaseEvent(stateOf('closed'), { type: 'created', status: named('closed') }, now);
  assert.equal([closed.status, closed.closedAt], [named('closed'), now]);
});

test('a waiting case that lost its clock (its status changed kind) starts one', () => {
  const lost = { ...stateOf('waiting'), waitingSince: null };
  assert.equal(decideCaseEvent(lost, { type: 'kontroll_reminded', to: null }, now).waitingSince, now);
});

test.run();
