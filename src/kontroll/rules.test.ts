import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { StatusKind } from '../db/schema.ts';
import { plainTextToHtml } from '../rich-text/escape.ts';
import {
  decideKontroll,
  fillPlaceholders,
  type KontrollRules,
  kontrollThreshold,
  unknownPlaceholders,
} from './rules.ts';

const test = suite('Kontroll decides per case');
const day = 24 * 60 * 60 * 1000;
const now = new Date('2026-11-27T07:00:00Z');
const since = (days: number, extraMs = 0) => new Date(now.getTime() - days * day - extraMs);
const rules = (over: Partial<KontrollRules> = {}): KontrollRules => ({
  remind: { enabled: true, days: 7 },
  close: { enabled: true, days: 14 },
  caseTypeIds: null,
  ...over,
});
const facts = (waited: number | null, over: { kind?: StatusKind; reminded?: boolean; type?: number } = {}) => ({
  statusKind: over.kind ?? ('waiting' as StatusKind),
  waitingSince: waited === null ? null : since(waited),
  caseTypeId: over.type ?? 1,
  remindedThisPeriod: over.reminded ?? false,
});

test('every combination of kind, age, reminder, switches and type', () => {
  const kinds: StatusKind[] = ['open', 'waiting', 'work_order', 'closed'];
  const ages = [null, 0, 6.99, 7, 10, 13.99, 14, 40];
  for (const kind of kinds)
    for (const age of ages)
      for (const reminded of [false, true])
        for (const remindOn of [false, true])
          for (const closeOn of [false, true])
            for (const types of [null, [1], [2]]) {
              const r = rules({
                remind: { enabled: remindOn, days: 7 },
                close: { enabled: closeOn, days: 14 },
                caseTypeIds: types,
              });
              const got = decideKontroll(facts(age, { kind, reminded }), r, now);
              let want: string = 'none';
              const included = types === null || types.includes(1);
              if (kind === 'waiting' && age !== null && included) {
                if (closeOn && age >= 14) want = 'close';
                else if (remindOn && !reminded && age >= 7) want = 'remind';
              }
              assert.is(got, want, `${kind} ${age} reminded=${reminded} ${remindOn}/${closeOn} ${types}`);
            }
});

test('the limit is reached to the millisecond, not a millisecond before', () => {
  assert.is(decideKontroll({ ...facts(0), waitingSince: since(7) }, rules(), now), 'remind');
  assert.is(decideKontroll({ ...facts(0), waitingSince: since(7, -1) }, rules(), now), 'none');
  assert.is(decideKontroll({ ...facts(0), waitingSince: since(14, -1) }, rules(), now), 'remind');
});

test('the candidates bound follows the earliest enabled limit', () => {
  assert.equal(kontrollThreshold(rules(), now), since(7));
  assert.equal(kontrollThreshold(rules({ remind: { enabled: false, days: 7 } }), now), since(14));
  assert.is(
    kontrollThreshold(rules({ remind: { enabled: false, days: 7 }, close: { enabled: false, days: 14 } }), now),
    null,
  );
});

test('texts: placeholders filled, unknown ones found, plain text becomes safe paragraphs', () => {
  const values = { case_number: '2026-00001', title: 'T', contact_name: 'Per', responsible_name: 'Kalle', days: '8' };
  assert.is(
    fillPlaceholders('{case_number} {title} {contact_name} {responsible_name} {days} {x}', values),
    '2026-00001 T Per Kalle 8 {x}',
  );
  assert.equal(unknownPlaceholders('Hej {contact_name}, {nope} {days}'), ['nope']);
  assert.is(plainTextToHtml('Hej <Per>!\n\nRad 1\nRad 2'), '<p>Hej &lt;Per&gt;!</p>\n<p>Rad 1<br>Rad 2</p>');
});

test.run();
