// The shapes the service-level clock works in, shared by the pure calendar and clock modules
// (calendar.ts, clock.ts), the policies that feed them (policies.ts) and the case lifecycle that
// stores their answer on the case. Types only: the pure modules may import nothing else.

// When a calendar is open. Times are the calendar's own wall clock, so a deadline follows the
// daylight-saving change the way the staff's working day does.
export type BusinessCalendar = {
  // IANA zone, e.g. 'Europe/Stockholm'
  timeZone: string;
  // Monday first, 7 entries; each day's open spans as [open, close) minutes after local midnight,
  // sorted and apart (a lunch break is the gap between two spans); [] closed; [[0, 1440]] all day
  week: [number, number][][];
  // local dates 'YYYY-MM-DD' closed all day: public holidays, the eves a firm closes, added days
  closedDates: ReadonlySet<string>;
};

// What a policy promises, in business minutes of its calendar.
export type SlaTargets = {
  firstResponseMinutes: number | null;
  nextResponseMinutes: number | null;
  resolutionMinutes: number | null;
  // the clocks stand still while the case waits for the customer
  pauseWhileWaiting: boolean;
  // the warning point, in percent of a target (escalation's "at risk")
  warnPercent: number;
};

// The events the clock hears, each at an instant (ISO 8601). The case lifecycle derives them from
// its own events (slaEventsOf in clock.ts) and keeps them in case_clock_events for replay.
export type SlaEventType =
  // the case was created (from a customer's mail or by staff): resolution starts, a first response is owed
  | 'opened'
  // the customer wrote in an existing case: a next response is owed unless one already is
  | 'customer_message'
  // a reply was sent to the customer: the owed response is met
  | 'staff_reply'
  // Undo send took that reply back: the response it met is owed again, from when it was first owed
  | 'reply_taken_back'
  // the case now waits for the customer / no longer does
  | 'waiting'
  | 'resumed'
  // closed / reopened: resolution stops and picks up again with the time it had left
  | 'closed'
  | 'reopened';
export type SlaEvent = { type: SlaEventType; at: string };

export type SlaTarget = 'first_response' | 'next_response' | 'resolution';

// One running target. `used` business minutes were spent before `runningSince`; while it runs,
// dueAt / warnAt say when it breaches / reaches the warning point. Paused: runningSince, dueAt and
// warnAt are null and `used` holds all that was spent.
export type SlaTimer = {
  target: SlaTarget;
  minutes: number;
  used: number;
  // when this target was first owed (the customer's message); kept for reports and Undo send
  owedSince: string;
  runningSince: string | null;
  dueAt: string | null;
  warnAt: string | null;
};

// The clock's whole state, stored on the case as JSON; replaying the case's clock events with its
// policy gives exactly this value.
export type SlaClock = {
  // the response owed now (first or next); null when none is
  response: SlaTimer | null;
  // the response timer as the last staff reply met it, for Undo send
  lastMet: SlaTimer | null;
  resolution: SlaTimer | null;
  firstResponded: boolean;
  // the business minutes the first response took, once it was met (absent before, and again when
  // Undo send takes it back): the reports' first-response time in business hours
  firstResponseMinutes?: number;
  waiting: boolean;
  closed: boolean;
};
