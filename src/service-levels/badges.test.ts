import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatters, translator } from '../i18n/i18n.ts';
import { badgeDays, badgeMinutes, type SlaBadge } from './badges.ts';
import type { BusinessCalendar } from './types.ts';

const test = suite("A service-level badge's text: hours and minutes under a day of business time, whole days from it");

const views = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../views');
const eta = new Eta({ views, cache: false });
const zone = 'Europe/Stockholm';
// Mon–Fri 08:00–16:00: eight business hours a day.
const office: BusinessCalendar = {
  timeZone: zone,
  week: [...Array(5).fill([[480, 960]]), [], []],
  closedDates: new Set(),
};
const allHours: BusinessCalendar = { timeZone: zone, week: Array(7).fill([[0, 1440]]), closedDates: new Set() };
const now = new Date('2026-03-02T09:00:00Z'); // a Monday, 10:00 in Stockholm
const HOUR = 3_600_000;
const later = (hours: number) => new Date(now.getTime() + hours * HOUR).toISOString();

// The badge as the overview and the case page render it, without its markup.
function text(badge: Partial<SlaBadge>, lang: 'sv' | 'en'): string {
  const full: SlaBadge = {
    target: 'next_response',
    level: 'ok',
    minutes: 0,
    dueAt: null,
    paused: false,
    days: null,
    ...badge,
  };
  const html = eta.render('/cases/_sla-badge', { badge: full, t: translator(lang), fmt: formatters(lang, zone) });
  return html
    .replace(/<span class="visually-hidden">[^<]*<\/span>/g, '')
    .replace(/<[^>]+>/g, '')
    .trim();
}
const title = (badge: Partial<SlaBadge>, lang: 'sv' | 'en') =>
  /title="([^"]*)"/.exec(
    eta.render('/cases/_sla-badge', {
      badge: { target: 'next_response', level: 'ok', minutes: 0, dueAt: null, paused: false, days: null, ...badge },
      t: translator(lang),
      fmt: formatters(lang, zone),
    }),
  )?.[1];

test('under 24 business hours: hours and minutes, in both languages', () => {
  assert.is(text({ minutes: 130, dueAt: later(3) }, 'en'), 'Response due in 2 h 10 min');
  assert.is(text({ minutes: 130, dueAt: later(3) }, 'sv'), 'Svar inom 2 h 10 min');
  assert.is(text({ minutes: 45 }, 'sv'), 'Svar inom 45 min');
  assert.is(text({ minutes: 120 }, 'en'), 'Response due in 2 h');
  assert.is(text({ level: 'breached', minutes: -35 }, 'sv'), 'Överskriden med 35 min');
  assert.is(text({ level: 'breached', minutes: -35 }, 'en'), 'Breached by 35 min');
  // just breached: never "0 min"
  assert.is(text({ level: 'breached', minutes: 0 }, 'en'), 'Breached by 1 min');
});

test('seconds left count as a whole minute: never "due in 0 min" while time is left', () => {
  assert.equal([0.3, 1, 1.2, 59.5, -0.3, -1.7, 0].map(badgeMinutes), [1, 1, 2, 60, -1, -2, 0]);
  assert.is(text({ minutes: badgeMinutes(20 / 60), level: 'warning' }, 'en'), 'Response due in 1 min');
});

test('the 24-hour boundary: 23 h 59 min stays in hours, 24 h counts days', () => {
  assert.is(badgeDays(1439, later(1439 / 60), now, allHours), null);
  assert.is(badgeDays(-1439, later(-1439 / 60), now, allHours), null);
  assert.is(badgeDays(1440, later(24), now, allHours), 1);
  assert.is(badgeDays(-1440, later(-24), now, allHours), 1);
  assert.is(
    text({ minutes: 1439, days: badgeDays(1439, later(1439 / 60), now, allHours) }, 'en'),
    'Response due in 23 h 59 min',
  );
  assert.is(text({ minutes: 1440, days: badgeDays(1440, later(24), now, allHours) }, 'en'), 'Response due in 1 d');
  assert.is(text({ minutes: 1440, days: badgeDays(1440, later(24), now, allHours) }, 'sv'), 'Svar inom 1 d');
});

test('huge values: whole days, never thousands of hours', () => {
  const dueAt = later(4601);
  const days = badgeDays(4601 * 60, dueAt, now, allHours);
  assert.is(days, 191);
  assert.is(text({ minutes: 4601 * 60, dueAt, days }, 'en'), 'Response due in 191 d');
  assert.is(text({ minutes: 4601 * 60, dueAt, days }, 'sv'), 'Svar inom 191 d');
  const overdue = later(-12 * 24 - 5);
  const over = badgeDays(-(12 * 24 + 5) * 60, overdue, now, allHours);
  assert.is(over, 12);
  assert.is(
    text({ level: 'breached', minutes: -(12 * 24 + 5) * 60, dueAt: overdue, days: over }, 'sv'),
    'Överskriden med 12 d',
  );
  assert.is(
    text({ level: 'breached', minutes: -(12 * 24 + 5) * 60, dueAt: overdue, days: over }, 'en'),
    'Breached by 12 d',
  );
});

test('days are wall-clock days to the deadline, not business minutes over 1440', () => {
  // 40 business hours in an 8-hour week calendar: from Monday 10:00 to the next Monday 10:00
  const dueAt = '2026-03-09T09:00:00.000Z';
  assert.is(badgeDays(40 * 60, dueAt, now, office), 7);
  // breached by 40 business hours: a week ago
  assert.is(badgeDays(-40 * 60, '2026-02-23T09:00:00.000Z', now, office), 7);
});

test('a paused target has no deadline: its minutes are laid out in its calendar', () => {
  // 40 business hours back from Monday 10:00 in the office calendar: the Monday before
  assert.is(badgeDays(-40 * 60, null, now, office), 7);
  assert.is(badgeDays(40 * 60, null, now, office), 7);
  // a calendar that never opens still gives an answer
  const closed: BusinessCalendar = { timeZone: zone, week: [[], [], [], [], [], [], []], closedDates: new Set() };
  assert.is(badgeDays(-3 * 1440, null, now, closed), 3);
  assert.is(text({ level: 'breached', paused: true, minutes: -40 * 60, days: 7 }, 'sv'), 'Överskriden med 7 d');
  assert.is(text({ paused: true, minutes: 40 * 60 }, 'en'), 'Response paused');
  // its tooltip says why it stands still, not only the target again
  assert.is(
    title({ paused: true, minutes: 40 * 60 }, 'sv'),
    'Svar: klockan står still medan ärendet väntar på kunden, så det finns ingen tidsgräns ännu',
  );
});

test('the wall-clock deadline stays in the tooltip', () => {
  const dueAt = '2026-09-01T10:00:00.000Z';
  assert.is(title({ minutes: 100_000, dueAt, days: 183 }, 'sv'), 'Senast 2026-09-01 12:00');
  assert.is(title({ level: 'breached', minutes: -100_000, dueAt, days: 183 }, 'en'), 'Response, Due 01/09/2026, 12:00');
});

test.run();
