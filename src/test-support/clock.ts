// An injected clock for whole-flow tests (service-levels.browser.test.ts): the app reads the time
// as `new Date()` and `Date.now()` everywhere, so rather than thread a clock through every call,
// this replaces globalThis.Date in the test process (which also runs the app, startTestServer)
// with a subclass whose no-argument constructor and Date.now() give a settable instant. Dates
// built from a value (the pg driver's parsed timestamps, `new Date(iso)`) are untouched, and
// instanceof Date still holds. What it cannot move: PostgreSQL's now() (created_at defaults) and
// timers. So set instants AFTER the real time: a session row expires by the database's clock
// against expiries computed here, and an expiry in the future of both stays valid. Restore when done.
const RealDate = globalThis.Date;

export type TestClock = { set: (at: Date | string) => void; now: () => Date; restore: () => void };

export function injectClock(start: Date | string): TestClock {
  let current = new RealDate(start).getTime();
  class FakeDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(current);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return current;
    }
  }
  globalThis.Date = FakeDate as DateConstructor;
  return {
    set: (at) => {
      current = new RealDate(at).getTime();
    },
    now: () => new RealDate(current),
    restore: () => {
      globalThis.Date = RealDate;
    },
  };
}
