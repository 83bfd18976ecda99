// The SLA clock: what a case owes (a response, its resolution) and by when, in business time.
// Pure: the case lifecycle stores advanceSla's answer after each event, and replaySla over the
// stored events must give the same value, so everything here is deterministic and the state is
// plain JSON (ISO strings, numbers, booleans, null).
//
// Semantics, event by event (a timer "runs" unless the case is closed, or waits for the customer
// under a policy that pauses while waiting):
// - opened: the resolution timer starts (if resolutionMinutes is set) and a first response is owed
//   (if firstResponseMinutes is set); owedSince = runningSince = at. Only on a blank clock: a
//   second 'opened' changes nothing.
// - customer_message: ignored while closed (the lifecycle sends 'reopened' first when the mail
//   reopens the case). If a response is already owed nothing changes; else one is owed:
//   first_response if the customer never had a reply, else next_response, each only if its target
//   is set. A new timer created while waiting (and pausing) starts paused.
// - staff_reply: the owed response is met: lastMet = that timer as it stood (used and runningSince
//   unchanged), response = null, firstResponded = true. A reply when nothing was owed meets
//   nothing: lastMet = null (so taking that reply back restores nothing) and firstResponded = true
//   (the customer has had a reply, so the next message owes a next response). Meeting the first
//   response records the business minutes it took (firstResponseMinutes), for the reports.
// - reply_taken_back: if lastMet is set and no response is owed, lastMet is owed again as it was:
//   it keeps its runningSince and used, so the time the undo window took counts; then it follows
//   the case's state at `at` (paused at `at` if the case is now closed or waiting-and-pausing).
//   firstResponded = false (and firstResponseMinutes gone) if it was the first response; lastMet = null. Taken back while closed
//   (a reply sent with Closed), it is owed again but paused: the 'reopened' that follows from
//   the status going back runs it on. The only way a closed case holds an owed response.
// - waiting: waiting = true; with pauseWhileWaiting every running timer pauses at `at`.
// - resumed: waiting = false; paused timers run again from `at` (unless closed).
// - closed: closed = true, waiting = false (a closed case waits for nobody, so leaving closed
//   needs no 'resumed'); every timer pauses, an owed response too (it is owed again on reopen).
// - reopened: closed = false; paused timers run again from `at` with what they have left.
// - Repeated events (waiting while waiting, closed while closed, resumed while not waiting,
//   reopened while open) change nothing.
// A running timer: dueAt = runningSince + (minutes − used) business minutes; warnAt the same for
// warnPercent % of minutes, or, when that point is already past, the earlier of runningSince and
// dueAt (never after dueAt). A budget already overspent gives a dueAt in the past, counted back
// from the restart. Instants are stored as toISOString() gives them, whatever spelling came in. Existing timers
// keep the minutes they were created with; warnPercent and pauseWhileWaiting are read from the
// targets passed with each event.
import { addBusinessMinutes, businessMinutesBetween } from './calendar.ts';
import type { BusinessCalendar, SlaClock, SlaEvent, SlaEventType, SlaTarget, SlaTargets, SlaTimer } from './types.ts';

export function startClock(): SlaClock {
  return { response: null, lastMet: null, resolution: null, firstResponded: false, waiting: false, closed: false };
}

const iso = (d: Date) => d.toISOString();

function runs(clock: SlaClock, targets: SlaTargets): boolean {
  return !clock.closed && !(clock.waiting && targets.pauseWhileWaiting);
}

function warnShare(targets: Pick<SlaTargets, 'warnPercent'>): number {
  return Math.min(100, Math.max(0, targets.warnPercent)) / 100;
}

function run(timer: SlaTimer, since: string, targets: SlaTargets, cal: BusinessCalendar): SlaTimer {
  const start = new Date(since);
  const due = addBusinessMinutes(cal, start, timer.minutes - timer.used);
  const warnLeft = timer.minutes * warnShare(targets) - timer.used;
  const warn = warnLeft > 0 ? addBusinessMinutes(cal, start, warnLeft) : due < start ? due : start;
  return { ...timer, runningSince: since, dueAt: iso(due), warnAt: iso(warn) };
}

function pause(timer: SlaTimer, at: string, cal: BusinessCalendar): SlaTimer {
  if (timer.runningSince === null) return timer;
  const used = timer.used + businessMinutesBetween(cal, new Date(timer.runningSince), new Date(at));
  return { ...timer, used, runningSince: null, dueAt: null, warnAt: null };
}

// Brings a timer in line with whether the clock runs at `at`.
function settle(
  timer: SlaTimer | null,
  clock: SlaClock,
  at: string,
  targets: SlaTargets,
  cal: BusinessCalendar,
): SlaTimer | null {
  if (!timer) return null;
  if (!runs(clock, targets)) return pause(timer, at, cal);
  return timer.runningSince === null ? run(timer, at, targets, cal) : timer;
}

function settleAll(clock: SlaClock, at: string, targets: SlaTargets, cal: BusinessCalendar): SlaClock {
  return {
    ...clock,
    response: settle(clock.response, clock, at, targets, cal),
    resolution: settle(clock.resolution, clock, at, targets, cal),
  };
}

function owe(
  target: SlaTarget,
  minutes: number | null,
  clock: SlaClock,
  at: string,
  targets: SlaTargets,
  cal: BusinessCalendar,
): SlaTimer | null {
  if (minutes === null) return null;
  const timer: SlaTimer = { target, minutes, used: 0, owedSince: at, runningSince: null, dueAt: null, warnAt: null };
  return runs(clock, targets) ? run(timer, at, targets, cal) : timer;
}

function isBlank(clock: SlaClock): boolean {
  return (
    !clock.response && !clock.lastMet && !clock.resolution && !clock.firstResponded && !clock.waiting && !clock.closed
  );
}

/** The clock after one more event; never changes `clock`. */
export function advanceSla(clock: SlaClock, event: SlaEvent, targets: SlaTargets, cal: BusinessCalendar): SlaClock {
  // One spelling of every instant in the stored state, so its strings compare and sort as times.
  const at = iso(new Date(event.at));
  switch (event.type) {
    case 'opened': {
      if (!isBlank(clock)) return clock;
      return {
        ...clock,
        response: owe('first_response', targets.firstResponseMinutes, clock, at, targets, cal),
        resolution: owe('resolution', targets.resolutionMinutes, clock, at, targets, cal),
      };
    }
    case 'customer_message': {
      if (clock.closed || clock.response) return clock;
      const response = clock.firstResponded
        ? owe('next_response', targets.nextResponseMinutes, clock, at, targets, cal)
        : owe('first_response', targets.firstResponseMinutes, clock, at, targets, cal);
      return response ? { ...clock, response } : clock;
    }
    case 'staff_reply': {
      if (!clock.response)
        return clock.lastMet || !clock.firstResponded ? { ...clock, lastMet: null, firstResponded: true } : clock;
      const met = clock.response;
      const took =
        met.target === 'first_response'
          ? {
              firstResponseMinutes:
                met.used +
                (met.runningSince === null ? 0 : businessMinutesBetween(cal, new Date(met.runningSince), new Date(at))),
            }
          : {};
      return { ...clock, lastMet: met, response: null, firstResponded: true, ...took };
    }
    case 'reply_taken_back': {
      const met = clock.lastMet;
      if (!met || clock.response) return clock;
      const restored = settle(met, clock, at, targets, cal);
      // A running timer keeps its start; its deadlines follow the targets in force now.
      const response =
        restored && restored.runningSince !== null ? run(restored, restored.runningSince, targets, cal) : restored;
      const { firstResponseMinutes, ...rest } = clock;
      return met.target === 'first_response'
        ? { ...rest, response, lastMet: null, firstResponded: false }
        : { ...clock, response, lastMet: null };
    }
    case 'waiting':
      if (clock.waiting) return clock;
      return settleAll({ ...clock, waiting: true }, at, targets, cal);
    case 'resumed':
      if (!clock.waiting) return clock;
      return settleAll({ ...clock, waiting: false }, at, targets, cal);
    case 'closed':
      if (clock.closed) return clock;
      // every timer stops where it stands, an owed response too: the issue's clock "stops at close
      // and picks up again at reopen", so a case closed before its first reply owes it again after
      return settleAll({ ...clock, closed: true, waiting: false }, at, targets, cal);
    case 'reopened':
      if (!clock.closed) return clock;
      return settleAll({ ...clock, closed: false }, at, targets, cal);
    default:
      // Stored events outlive code: a type this version does not know leaves the clock as it is
      // rather than turning the stored state into undefined.
      return clock;
  }
}

/** The clock a case's events give, from the blank clock. */
export function replaySla(events: readonly SlaEvent[], targets: SlaTargets, cal: BusinessCalendar): SlaClock {
  let clock = startClock();
  for (const event of events) clock = advanceSla(clock, event, targets, cal);
  return clock;
}

function running(clock: SlaClock): SlaTimer[] {
  const timers: SlaTimer[] = [];
  for (const t of [clock.response, clock.resolution]) if (t && t.dueAt !== null) timers.push(t);
  return timers;
}

/** The earliest running deadline (sorting, the at-risk filter, escalation); null when none runs. */
export function nextDeadline(clock: SlaClock): { target: SlaTarget; dueAt: string; warnAt: string } | null {
  let best: { target: SlaTarget; dueAt: string; warnAt: string } | null = null;
  for (const t of running(clock)) {
    const dueAt = t.dueAt as string;
    if (!best || Date.parse(dueAt) < Date.parse(best.dueAt)) {
      best = { target: t.target, dueAt, warnAt: t.warnAt ?? dueAt };
    }
  }
  return best;
}

export type SlaLevel = 'ok' | 'warning' | 'breached';
export type SlaState = {
  target: SlaTarget;
  // null while paused: a paused target has no deadline, only the minutes it has left
  dueAt: string | null;
  // negative when breached
  businessMinutesLeft: number;
  level: SlaLevel;
  paused: boolean;
};

/**
 * The case's targets as a badge shows them at `now`: the owed response first, then resolution.
 * Running: breached from dueAt on, warning from warnAt on. Paused: breached when the budget is
 * spent; warning needs the policy's warnPercent (a paused timer stores no warnAt), so without
 * `targets` a paused timer is only ever ok or breached.
 */
export function slaStateAt(
  clock: SlaClock,
  now: Date,
  cal: BusinessCalendar,
  targets?: Pick<SlaTargets, 'warnPercent'>,
): SlaState[] {
  const states: SlaState[] = [];
  for (const t of [clock.response, clock.resolution]) {
    if (!t) continue;
    if (t.dueAt === null || t.warnAt === null) {
      const left = t.minutes - t.used;
      const warned = targets !== undefined && t.used >= t.minutes * warnShare(targets);
      const level: SlaLevel = left <= 0 ? 'breached' : warned ? 'warning' : 'ok';
      states.push({ target: t.target, dueAt: null, businessMinutesLeft: left, level, paused: true });
      continue;
    }
    const n = now.getTime();
    const due = Date.parse(t.dueAt);
    const level: SlaLevel = n >= due ? 'breached' : n >= Date.parse(t.warnAt) ? 'warning' : 'ok';
    states.push({
      target: t.target,
      dueAt: t.dueAt,
      businessMinutesLeft: businessMinutesBetween(cal, now, new Date(due)),
      level,
      paused: false,
    });
  }
  return states;
}

export type StatusKind = 'open' | 'waiting' | 'work_order' | 'closed';
export type CaseChange = {
  event:
    | 'created'
    | 'status_set'
    | 'reply_sent'
    | 'send_undone'
    | 'customer_replied'
    | 'reopened'
    | 'kontroll_reminded'
    | 'kontroll_closed'
    | 'work_order_created'
    | 'approval_opened'
    | 'approval_closed'
    | 'merged';
  // null when the case did not exist before (created)
  before: StatusKind | null;
  after: StatusKind;
};

// What a change of status kind means to the clock. A work order keeps the clock running like open.
function statusEvents(before: StatusKind | null, after: StatusKind): SlaEventType[] {
  if (before === after) return [];
  if (after === 'closed') return ['closed'];
  if (before === 'closed') return after === 'waiting' ? ['reopened', 'waiting'] : ['reopened'];
  if (after === 'waiting') return ['waiting'];
  if (before === 'waiting') return ['resumed'];
  return [];
}

/**
 * The clock events one case lifecycle change gives, in order: the reply (or its undo) before the
 * status change, so a reply sent with Waiting meets the response before the clock pauses; a
 * customer's message after it, so the response it owes starts on a reopened, running clock.
 */
export function slaEventsOf(change: CaseChange, at: string): SlaEvent[] {
  const status = statusEvents(change.before, change.after);
  let types: SlaEventType[];
  switch (change.event) {
    case 'created':
      types = ['opened', ...status];
      break;
    case 'reply_sent':
      types = ['staff_reply', ...status];
      break;
    case 'send_undone':
      types = ['reply_taken_back', ...status];
      break;
    case 'customer_replied':
    case 'reopened':
      types = [...status, 'customer_message'];
      break;
    default:
      types = status;
  }
  return types.map((type) => ({ type, at }));
}
