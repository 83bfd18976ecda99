import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../test-support/random.ts';
import { addBusinessMinutes } from './calendar.ts';
import {
  advanceSla,
  type CaseChange,
  nextDeadline,
  replaySla,
  type StatusKind,
  slaEventsOf,
  slaStateAt,
  startClock,
} from './clock.ts';
import { swedishClosedDates } from './holidays.ts';
import type { BusinessCalendar, SlaClock, SlaEvent, SlaEventType, SlaTargets } from './types.ts';

const test = suite('The SLA clock');

const zone = 'Europe/Stockholm';
// Mon–Fri 08:00–12:00 and 13:00–17:00, Swedish holidays and eves closed.
const office: BusinessCalendar = {
  timeZone: zone,
  week: [
    ...Array(5).fill([
      [480, 720],
      [780, 1020],
    ]),
    [],
    [],
  ],
  closedDates: new Set(swedishClosedDates(2025, 2031, { eves: true })),
};
const allHours: BusinessCalendar = { timeZone: zone, week: Array(7).fill([[0, 1440]]), closedDates: new Set() };

// 2 h first response, 4 h next response, 5 working days to resolve; warning at 80 %.
const targets: SlaTargets = {
  firstResponseMinutes: 120,
  nextResponseMinutes: 240,
  resolutionMinutes: 5 * 480,
  pauseWhileWaiting: true,
  warnPercent: 80,
};

const ev = (type: SlaEventType, at: string): SlaEvent => ({ type, at });
const replay = (events: SlaEvent[], t = targets, cal = office) => replaySla(events, t, cal);

// Stockholm is UTC+1 in winter; instants are written in UTC. Thursday 3 December 2026, 10:00 local.
const THU_10 = '2026-12-03T09:00:00.000Z';

test('the blank clock owes nothing', () => {
  assert.equal(startClock(), {
    response: null,
    lastMet: null,
    resolution: null,
    firstResponded: false,
    waiting: false,
    closed: false,
  });
  assert.is(nextDeadline(startClock()), null);
  assert.equal(slaStateAt(startClock(), new Date(THU_10), office), []);
});

test('opened: a first response is owed and resolution runs', () => {
  const c = replay([ev('opened', THU_10)]);
  assert.equal(c.response, {
    target: 'first_response',
    minutes: 120,
    used: 0,
    owedSince: THU_10,
    runningSince: THU_10,
    dueAt: '2026-12-03T11:00:00.000Z',
    // 96 minutes: 10:00 + 96 = 11:36
    warnAt: '2026-12-03T10:36:00.000Z',
  });
  // five working days: Thursday 10:00 → next Thursday 10:00
  assert.is(c.resolution?.dueAt, '2026-12-10T09:00:00.000Z');
  // 80 % of 2400 = 1920 = four days: Wednesday 10:00
  assert.is(c.resolution?.warnAt, '2026-12-09T09:00:00.000Z');
  assert.equal(nextDeadline(c), {
    target: 'first_response',
    dueAt: '2026-12-03T11:00:00.000Z',
    warnAt: '2026-12-03T10:36:00.000Z',
  });
  // a second 'opened' changes nothing
  assert.equal(advanceSla(c, ev('opened', '2026-12-04T09:00:00Z'), targets, office), c);
});

test('targets left unset create no timers', () => {
  const none = { ...targets, firstResponseMinutes: null, nextResponseMinutes: null, resolutionMinutes: null };
  const c = replay([ev('opened', THU_10), ev('customer_message', '2026-12-03T10:00:00Z')], none);
  assert.equal(c, startClock());
  const onlyResolution = { ...targets, firstResponseMinutes: null };
  assert.is(replay([ev('opened', THU_10)], onlyResolution).response, null);
});

test('a mail arriving on Friday 16:30, at night, on a holiday, on Saturday', () => {
  const due = (at: string) => replay([ev('opened', at)]).response?.dueAt;
  assert.is(due('2026-12-04T15:30:00Z'), '2026-12-07T08:30:00.000Z');
  assert.is(due('2026-12-08T01:00:00Z'), '2026-12-08T09:00:00.000Z');
  // juldagen → Monday 28 December 10:00
  assert.is(due('2026-12-25T09:00:00Z'), '2026-12-28T09:00:00.000Z');
  // midsommarafton (CEST) → Monday 22 June 10:00
  assert.is(due('2026-06-19T08:00:00Z'), '2026-06-22T08:00:00.000Z');
  assert.is(due('2026-12-05T10:00:00Z'), '2026-12-07T09:00:00.000Z');
});

test('staff reply meets the response; a customer message then owes a next response', () => {
  const opened = ev('opened', THU_10);
  const reply = ev('staff_reply', '2026-12-03T10:00:00Z');
  const c = replay([opened, reply]);
  assert.is(c.response, null);
  assert.ok(c.firstResponded);
  assert.equal(c.lastMet, replay([opened]).response);
  const again = replay([opened, reply, ev('customer_message', '2026-12-03T14:00:00Z')]);
  // 15:00 + 4 h: two hours Thursday, two Friday → Friday 10:00
  assert.equal(again.response, {
    target: 'next_response',
    minutes: 240,
    used: 0,
    owedSince: '2026-12-03T14:00:00.000Z',
    runningSince: '2026-12-03T14:00:00.000Z',
    dueAt: '2026-12-04T09:00:00.000Z',
    warnAt: '2026-12-04T08:12:00.000Z',
  });
  // a second message while one is owed changes nothing
  assert.equal(advanceSla(again, ev('customer_message', '2026-12-03T15:00:00Z'), targets, office), again);
});

test('the first response records the business minutes it took; a next response or Undo send of it do not', () => {
  // Thursday 16:30 to Friday 09:15 local time: half an hour Thursday, an hour and a quarter Friday
  const opened = ev('opened', '2026-12-03T15:30:00Z');
  const reply = ev('staff_reply', '2026-12-04T08:15:00Z');
  assert.is(replay([opened]).firstResponseMinutes, undefined);
  assert.is(replay([opened, reply]).firstResponseMinutes, 105);
  // waiting in between is not counted
  const waited = replay([
    opened,
    ev('waiting', '2026-12-03T15:45:00Z'),
    ev('resumed', '2026-12-04T08:00:00Z'),
    ev('staff_reply', '2026-12-04T08:15:00Z'),
  ]);
  assert.is(waited.firstResponseMinutes, 30);
  const later = replay([
    opened,
    reply,
    ev('customer_message', '2026-12-04T09:00:00Z'),
    ev('staff_reply', '2026-12-04T11:00:00Z'),
  ]);
  assert.is(later.firstResponseMinutes, 105, 'a next response leaves it');
  const undone = replay([opened, reply, ev('reply_taken_back', '2026-12-04T08:15:20Z')]);
  assert.not.ok('firstResponseMinutes' in undone, 'taken back, the first response is owed again');
  assert.is(
    replay([opened, reply, ev('reply_taken_back', '2026-12-04T08:15:20Z'), ev('staff_reply', '2026-12-04T08:30:00Z')])
      .firstResponseMinutes,
    120,
  );
});

test('a customer message before any reply owes the first response, not a next one', () => {
  const c = replay([ev('opened', THU_10), ev('customer_message', '2026-12-03T10:00:00Z')]);
  assert.is(c.response?.target, 'first_response');
  assert.is(c.response?.owedSince, THU_10);
});

test('a reply when nothing is owed meets nothing, so taking it back restores nothing', () => {
  const c = replay([
    ev('opened', THU_10),
    ev('staff_reply', '2026-12-03T10:00:00Z'),
    ev('staff_reply', '2026-12-03T12:00:00Z'),
  ]);
  assert.is(c.lastMet, null);
  const undone = advanceSla(c, ev('reply_taken_back', '2026-12-03T12:00:10Z'), targets, office);
  assert.is(undone.response, null);
  assert.ok(undone.firstResponded);
});

test('Undo send: the response is owed again with its clock run on from where it was', () => {
  const opened = ev('opened', THU_10);
  const reply = ev('staff_reply', '2026-12-03T10:00:00Z');
  const c = replay([opened, reply, ev('reply_taken_back', '2026-12-03T10:00:20Z')]);
  assert.equal(c.response, replay([opened]).response);
  assert.is(c.lastMet, null);
  assert.not.ok(c.firstResponded);
  // taking back twice is the second time a no-op
  assert.equal(advanceSla(c, ev('reply_taken_back', '2026-12-03T10:00:30Z'), targets, office), c);
  // a next response taken back keeps firstResponded
  const next = replay([
    opened,
    reply,
    ev('customer_message', '2026-12-03T14:00:00Z'),
    ev('staff_reply', '2026-12-03T15:00:00Z'),
    ev('reply_taken_back', '2026-12-03T15:00:20Z'),
  ]);
  assert.is(next.response?.target, 'next_response');
  assert.is(next.response?.runningSince, '2026-12-03T14:00:00.000Z');
  assert.ok(next.firstResponded);
});

test('Undo send of a reply sent with Waiting: the undo window counts, the wait does not', () => {
  // reply + Waiting at 11:00, undone at 11:00:30 (still waiting), then the status goes back
  const events = [
    ev('opened', THU_10),
    ...slaEventsOf({ event: 'reply_sent', before: 'open', after: 'waiting' }, '2026-12-03T10:00:00.000Z'),
    ...slaEventsOf({ event: 'send_undone', before: 'waiting', after: 'open' }, '2026-12-03T10:00:30.000Z'),
  ];
  assert.equal(
    events.map((e) => e.type),
    ['opened', 'staff_reply', 'waiting', 'reply_taken_back', 'resumed'],
  );
  const c = replay(events);
  // 60.5 minutes used by the undo, the rest runs from 11:00:30: 59.5 minutes → 11:59:30 + lunch? no:
  // 11:00:30 + 59.5 min = 12:00:00 local, the close of the morning span.
  assert.is(c.response?.used, 60.5);
  assert.is(c.response?.runningSince, '2026-12-03T10:00:30.000Z');
  assert.is(c.response?.dueAt, '2026-12-03T11:00:00.000Z');
  assert.is(c.response?.owedSince, THU_10);
  assert.not.ok(c.waiting);
});

test('waiting pauses every timer over a weekend; resumed picks up what is left', () => {
  const events = [
    ev('opened', THU_10),
    ev('staff_reply', '2026-12-03T09:30:00Z'),
    // Friday 11:00 local, back Monday 11:00
    ev('waiting', '2026-12-04T10:00:00Z'),
  ];
  const waiting = replay(events);
  assert.ok(waiting.waiting);
  // Thursday 10–12 and 13–17 (360) + Friday 8–11 (180)
  assert.equal(waiting.resolution, {
    target: 'resolution',
    minutes: 2400,
    used: 540,
    owedSince: THU_10,
    runningSince: null,
    dueAt: null,
    warnAt: null,
  });
  assert.is(nextDeadline(waiting), null);
  assert.equal(slaStateAt(waiting, new Date('2026-12-06T10:00:00Z'), office, targets), [
    { target: 'resolution', dueAt: null, businessMinutesLeft: 1860, level: 'ok', paused: true },
  ]);
  const resumed = replay([...events, ev('resumed', '2026-12-07T10:00:00Z')]);
  // 1860 minutes from Monday 11:00: Monday 300, Tuesday–Thursday 1440, Friday 08:00 + 120 → 10:00
  assert.is(resumed.resolution?.dueAt, '2026-12-11T09:00:00.000Z');
  // the warning at 1920 − 540 = 1380 minutes: Monday 300, Tuesday–Wednesday 960, Thursday 10:00
  assert.is(
    resumed.resolution?.warnAt,
    addBusinessMinutes(office, new Date('2026-12-07T10:00:00Z'), 1380).toISOString(),
  );
  assert.is(resumed.resolution?.warnAt, '2026-12-10T09:00:00.000Z');
  // a policy that does not pause: the wait counts
  const running = replay([...events, ev('resumed', '2026-12-07T10:00:00Z')], { ...targets, pauseWhileWaiting: false });
  assert.is(running.resolution?.dueAt, '2026-12-10T09:00:00.000Z');
  assert.is(running.resolution?.runningSince, THU_10);
});

test('a customer message while waiting (no status change) owes a response that starts paused', () => {
  const c = replay([
    ev('opened', THU_10),
    ev('staff_reply', '2026-12-03T09:30:00Z'),
    ev('waiting', '2026-12-03T09:30:00Z'),
    ev('customer_message', '2026-12-03T12:00:00Z'),
  ]);
  assert.equal(c.response, {
    target: 'next_response',
    minutes: 240,
    used: 0,
    owedSince: '2026-12-03T12:00:00.000Z',
    runningSince: null,
    dueAt: null,
    warnAt: null,
  });
  const resumed = advanceSla(c, ev('resumed', '2026-12-04T07:00:00Z'), targets, office);
  assert.is(resumed.response?.dueAt, '2026-12-04T11:00:00.000Z');
});

test('closed stops every timer, an owed response too; reopened runs them on with what was left', () => {
  // closed at 12:00 local, two hours in
  const events = [ev('opened', THU_10), ev('closed', '2026-12-03T11:00:00Z')];
  const closed = replay(events);
  assert.ok(closed.closed);
  // the first response, owed two business hours, stopped where it stood (its budget used up)
  assert.is(closed.response?.target, 'first_response');
  assert.is(closed.response?.used, 120);
  assert.is(closed.response?.dueAt, null);
  assert.is(closed.resolution?.used, 120);
  assert.is(closed.resolution?.dueAt, null);
  // a customer message while closed changes nothing: the lifecycle reopens first
  assert.equal(advanceSla(closed, ev('customer_message', '2026-12-04T08:00:00Z'), targets, office), closed);
  const reopened = replay([
    ...events,
    ...slaEventsOf({ event: 'reopened', before: 'closed', after: 'open' }, '2026-12-07T08:00:00.000Z'),
  ]);
  assert.not.ok(reopened.closed);
  // Monday 09:00 + 2280 minutes: Monday 420, Tuesday–Thursday 1440, Friday 420 → 16:00 local
  assert.is(reopened.resolution?.dueAt, '2026-12-11T15:00:00.000Z');
  assert.is(reopened.resolution?.used, 120);
  // the first response was never given: it is owed again, with nothing of its budget left
  assert.is(reopened.response?.target, 'first_response');
  assert.is(reopened.response?.owedSince, '2026-12-03T09:00:00.000Z');
  assert.is(reopened.response?.dueAt, '2026-12-07T08:00:00.000Z');
});

test('closing a waiting case ends the wait; reopening into waiting waits again', () => {
  const events = [
    ev('opened', THU_10),
    ...slaEventsOf({ event: 'status_set', before: 'open', after: 'waiting' }, '2026-12-03T10:00:00.000Z'),
    ...slaEventsOf({ event: 'status_set', before: 'waiting', after: 'closed' }, '2026-12-04T10:00:00.000Z'),
  ];
  const closed = replay(events);
  assert.ok(closed.closed);
  assert.not.ok(closed.waiting);
  assert.is(closed.resolution?.used, 60);
  const toWaiting = replay([
    ...events,
    ...slaEventsOf({ event: 'status_set', before: 'closed', after: 'waiting' }, '2026-12-07T10:00:00.000Z'),
  ]);
  assert.ok(toWaiting.waiting);
  assert.is(toWaiting.resolution?.runningSince, null);
  const toOpen = replay([
    ...events,
    ...slaEventsOf({ event: 'status_set', before: 'closed', after: 'open' }, '2026-12-07T10:00:00.000Z'),
  ]);
  assert.is(toOpen.resolution?.runningSince, '2026-12-07T10:00:00.000Z');
});

test('Undo send of a reply that closed the case: owed again, paused until the case reopens', () => {
  const events = [
    ev('opened', THU_10),
    ...slaEventsOf({ event: 'reply_sent', before: 'open', after: 'closed' }, '2026-12-03T10:00:00.000Z'),
  ];
  const closed = replay(events);
  assert.is(closed.response, null);
  const taken = advanceSla(closed, ev('reply_taken_back', '2026-12-03T10:00:30.000Z'), targets, office);
  // 60.5 minutes ran until the undo; paused while the case is still closed
  assert.is(taken.response?.used, 60.5);
  assert.is(taken.response?.runningSince, null);
  const reopened = advanceSla(taken, ev('reopened', '2026-12-03T10:00:30.000Z'), targets, office);
  assert.is(reopened.response?.runningSince, '2026-12-03T10:00:30.000Z');
  assert.is(reopened.response?.dueAt, '2026-12-03T11:00:00.000Z');
  assert.equal(
    replay([
      ...events,
      ...slaEventsOf({ event: 'send_undone', before: 'closed', after: 'open' }, '2026-12-03T10:00:30.000Z'),
    ]),
    reopened,
  );
});

test('repeated events are no-ops', () => {
  const open = replay([ev('opened', THU_10)]);
  assert.is(advanceSla(open, ev('resumed', '2026-12-03T10:00:00Z'), targets, office), open);
  assert.is(advanceSla(open, ev('reopened', '2026-12-03T10:00:00Z'), targets, office), open);
  const waiting = advanceSla(open, ev('waiting', '2026-12-03T10:00:00Z'), targets, office);
  assert.is(advanceSla(waiting, ev('waiting', '2026-12-03T11:00:00Z'), targets, office), waiting);
  const closed = advanceSla(open, ev('closed', '2026-12-03T10:00:00Z'), targets, office);
  assert.is(advanceSla(closed, ev('closed', '2026-12-03T11:00:00Z'), targets, office), closed);
});

test('an event type this version does not know leaves the clock as it is', () => {
  const c = replay([ev('opened', THU_10)]);
  const unknown = { type: 'escalated', at: '2026-12-03T10:00:00Z' } as unknown as SlaEvent;
  assert.is(advanceSla(c, unknown, targets, office), c);
});

test('a policy change: replaying with other targets gives other deadlines', () => {
  const events = [ev('opened', THU_10), ev('staff_reply', '2026-12-03T10:00:00Z')];
  const strict = { ...targets, resolutionMinutes: 480 };
  assert.is(replay(events).resolution?.dueAt, '2026-12-10T09:00:00.000Z');
  assert.is(replay(events, strict).resolution?.dueAt, '2026-12-04T09:00:00.000Z');
  // incrementally, an existing timer keeps the minutes it was created with
  const kept = advanceSla(replay(events), ev('customer_message', '2026-12-03T12:00:00Z'), strict, office);
  assert.is(kept.resolution?.minutes, 2400);
});

test('an overspent budget: resumed after the breach, the deadline lies in the past and warnAt is not after it', () => {
  const c = replay(
    [ev('opened', THU_10), ev('waiting', '2026-12-03T13:00:00Z'), ev('resumed', '2026-12-04T09:00:00Z')],
    { ...targets, firstResponseMinutes: 60 },
  );
  // 60-minute target, 180 used (10–12, 13–14); resumed Friday 10:00, 120 over budget: the
  // deadline is counted back from the resume, Friday 08:00
  assert.is(c.response?.used, 180);
  assert.is(c.response?.dueAt, '2026-12-04T07:00:00.000Z');
  assert.is(c.response?.warnAt, c.response?.dueAt);
  const [state] = slaStateAt(c, new Date('2026-12-04T09:00:00Z'), office);
  assert.equal(state, {
    target: 'first_response',
    dueAt: '2026-12-04T07:00:00.000Z',
    businessMinutesLeft: -120,
    level: 'breached',
    paused: false,
  });
});

test('slaStateAt: ok, warning past warnAt, breached from dueAt, minutes left in business time', () => {
  const c = replay([ev('opened', THU_10)]);
  const states = (iso: string) =>
    slaStateAt(c, new Date(iso), office).map((s) => [s.target, s.level, s.businessMinutesLeft]);
  assert.equal(states('2026-12-03T09:30:00Z'), [
    ['first_response', 'ok', 90],
    ['resolution', 'ok', 2370],
  ]);
  assert.equal(states('2026-12-03T10:36:00Z'), [
    ['first_response', 'warning', 24],
    ['resolution', 'ok', 2304],
  ]);
  assert.equal(states('2026-12-03T11:00:00Z'), [
    ['first_response', 'breached', 0],
    ['resolution', 'ok', 2280],
  ]);
  // at night the minutes left do not drain
  assert.equal(states('2026-12-03T22:00:00Z'), [
    ['first_response', 'breached', -240],
    ['resolution', 'ok', 2040],
  ]);
  // a paused timer past its warning point: warning only when told the policy's warnPercent
  const paused = replay([ev('opened', THU_10), ev('waiting', '2026-12-03T10:50:00Z')]);
  assert.is(slaStateAt(paused, new Date('2026-12-05T00:00:00Z'), office)[0]?.level, 'ok');
  assert.is(slaStateAt(paused, new Date('2026-12-05T00:00:00Z'), office, targets)[0]?.level, 'warning');
});

test('a 24/7 calendar: deadlines are wall-clock, across the spring-forward night too', () => {
  const t = { ...targets, firstResponseMinutes: 60, resolutionMinutes: 24 * 60 };
  // Sunday 29 March 2026, 01:30 CET; 02:00–03:00 does not exist
  const c = replay([ev('opened', '2026-03-29T00:30:00.000Z')], t, allHours);
  assert.is(c.response?.dueAt, '2026-03-29T01:30:00.000Z');
  assert.is(c.resolution?.dueAt, '2026-03-30T00:30:00.000Z');
  const paused = replay(
    [
      ev('opened', '2026-03-29T00:30:00.000Z'),
      ev('waiting', '2026-03-29T00:45:00.000Z'),
      ev('resumed', '2026-03-29T10:00:00.000Z'),
    ],
    t,
    allHours,
  );
  assert.is(paused.response?.dueAt, '2026-03-29T10:45:00.000Z');
});

test('the state is plain JSON: it round-trips and holds no undefined', () => {
  const c = replay([
    ev('opened', THU_10),
    ev('staff_reply', '2026-12-03T10:00:00Z'),
    ev('customer_message', '2026-12-03T12:00:00Z'),
    ev('waiting', '2026-12-03T13:00:00.123Z'),
  ]);
  assert.equal(JSON.parse(JSON.stringify(c)), c);
  assert.not.match(
    JSON.stringify(c, (_k, v) => (v === undefined ? 'UNDEFINED' : v)),
    'UNDEFINED',
  );
  // instants are stored in one spelling whatever came in
  assert.equal(replay([ev('opened', '2026-12-03T10:00:00+01:00')]), replay([ev('opened', THU_10)]));
});

// slaEventsOf: every lifecycle event in every (before, after), written out per kind of event. The
// status part of a change: rows are `before` (null: the case did not exist), columns `after`.
const kinds: StatusKind[] = ['open', 'waiting', 'work_order', 'closed'];
const befores: (StatusKind | null)[] = [null, ...kinds];
type Grid = Record<string, Record<StatusKind, string>>;
const row = (open: string, waiting: string, work_order: string, closed: string) => ({
  open,
  waiting,
  work_order,
  closed,
});
const plain: Grid = {
  null: row('', 'waiting', '', 'closed'),
  open: row('', 'waiting', '', 'closed'),
  waiting: row('resumed', '', 'resumed', 'closed'),
  work_order: row('', 'waiting', '', 'closed'),
  closed: row('reopened', 'reopened waiting', 'reopened', ''),
};
const created: Grid = {
  null: row('opened', 'opened waiting', 'opened', 'opened closed'),
  open: row('opened', 'opened waiting', 'opened', 'opened closed'),
  waiting: row('opened resumed', 'opened', 'opened resumed', 'opened closed'),
  work_order: row('opened', 'opened waiting', 'opened', 'opened closed'),
  closed: row('opened reopened', 'opened reopened waiting', 'opened reopened', 'opened'),
};
const replySent: Grid = {
  null: row('staff_reply', 'staff_reply waiting', 'staff_reply', 'staff_reply closed'),
  open: row('staff_reply', 'staff_reply waiting', 'staff_reply', 'staff_reply closed'),
  waiting: row('staff_reply resumed', 'staff_reply', 'staff_reply resumed', 'staff_reply closed'),
  work_order: row('staff_reply', 'staff_reply waiting', 'staff_reply', 'staff_reply closed'),
  closed: row('staff_reply reopened', 'staff_reply reopened waiting', 'staff_reply reopened', 'staff_reply'),
};
const tb = 'reply_taken_back';
const sendUndone: Grid = {
  null: row(tb, `${tb} waiting`, tb, `${tb} closed`),
  open: row(tb, `${tb} waiting`, tb, `${tb} closed`),
  waiting: row(`${tb} resumed`, tb, `${tb} resumed`, `${tb} closed`),
  work_order: row(tb, `${tb} waiting`, tb, `${tb} closed`),
  closed: row(`${tb} reopened`, `${tb} reopened waiting`, `${tb} reopened`, tb),
};
const cm = 'customer_message';
const customer: Grid = {
  null: row(cm, `waiting ${cm}`, cm, `closed ${cm}`),
  open: row(cm, `waiting ${cm}`, cm, `closed ${cm}`),
  waiting: row(`resumed ${cm}`, cm, `resumed ${cm}`, `closed ${cm}`),
  work_order: row(cm, `waiting ${cm}`, cm, `closed ${cm}`),
  closed: row(`reopened ${cm}`, `reopened waiting ${cm}`, `reopened ${cm}`, cm),
};
const grids: Record<CaseChange['event'], Grid> = {
  created,
  status_set: plain,
  reply_sent: replySent,
  send_undone: sendUndone,
  customer_replied: customer,
  reopened: customer,
  kontroll_reminded: plain,
  kontroll_closed: plain,
  work_order_created: plain,
  approval_opened: plain,
  approval_closed: plain,
  merged: plain,
};

test('slaEventsOf: every event × before × after, in order, all at the change instant', () => {
  const at = '2026-12-03T09:00:00.000Z';
  let checked = 0;
  for (const [event, grid] of Object.entries(grids) as [CaseChange['event'], Grid][]) {
    for (const before of befores) {
      for (const after of kinds) {
        const got = slaEventsOf({ event, before, after }, at);
        const want = grid[String(before)]?.[after] ?? 'missing';
        assert.is(got.map((e) => e.type).join(' '), want, `${event} ${before} → ${after}`);
        for (const e of got) assert.is(e.at, at);
        checked++;
      }
    }
  }
  assert.is(checked, 12 * 5 * 4);
});

const types: SlaEventType[] = [
  'opened',
  'customer_message',
  'staff_reply',
  'reply_taken_back',
  'waiting',
  'resumed',
  'closed',
  'reopened',
];
function randomEvents(rnd: () => number): SlaEvent[] {
  let t = Date.parse('2026-01-01T00:00:00Z') + Math.floor(rnd() * 300 * 86_400_000);
  const events: SlaEvent[] = [{ type: 'opened', at: new Date(t).toISOString() }];
  for (let i = Math.floor(rnd() * 12); i > 0; i--) {
    t += Math.floor(rnd() * (rnd() < 0.3 ? 60_000 : 4 * 86_400_000));
    events.push({ type: types[Math.floor(rnd() * types.length)] as SlaEventType, at: new Date(t).toISOString() });
  }
  return events;
}
function randomTargets(rnd: () => number): SlaTargets {
  const maybe = (n: number) => (rnd() < 0.2 ? null : Math.round(rnd() * n));
  return {
    firstResponseMinutes: maybe(600),
    nextResponseMinutes: maybe(1200),
    resolutionMinutes: maybe(10_000),
    pauseWhileWaiting: rnd() < 0.6,
    warnPercent: Math.round(rnd() * 100),
  };
}
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

test('property: replay of a prefix, advanced by the next event, is the replay of the longer list', () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const rnd = seededRandom(seed);
    const cal = rnd() < 0.8 ? office : allHours;
    const t = randomTargets(rnd);
    const events = randomEvents(rnd);
    let incremental = startClock();
    for (let i = 0; i < events.length; i++) {
      const stored = deepFreeze(JSON.parse(JSON.stringify(incremental)) as SlaClock);
      incremental = advanceSla(stored, events[i] as SlaEvent, t, cal);
      const msg = `seed ${seed}, event ${i}`;
      assert.equal(incremental, replaySla(events.slice(0, i + 1), t, cal), msg);
      assert.equal(JSON.parse(JSON.stringify(incremental)), incremental, msg);
      for (const timer of [incremental.response, incremental.resolution, incremental.lastMet]) {
        if (!timer) continue;
        const running = timer.runningSince !== null;
        assert.is(timer.dueAt !== null, running, msg);
        assert.is(timer.warnAt !== null, running, msg);
        if (timer.dueAt && timer.warnAt) assert.ok(timer.warnAt <= timer.dueAt, msg);
        assert.ok(timer.used >= 0, msg);
      }
      const stopped = incremental.closed || (incremental.waiting && t.pauseWhileWaiting);
      for (const timer of [incremental.response, incremental.resolution]) {
        if (timer) assert.is(timer.runningSince === null, stopped, msg);
      }
    }
  }
});

test.run();
