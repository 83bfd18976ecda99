import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { seedDemoData } from '../demo/demo-data.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { defaultFilter, listOverview, type OverviewRow } from './overview.ts';

// What people type into the overview's search, and the case they expect on top, over the demo
// data (src/demo/demo-data.ts): names, addresses, parts of case numbers, words without their
// accents (in titles, names and threads), a word half typed, Swedish inflections, and title hits
// above thread hits.
const ctx = {} as { db: Db; drop: () => Promise<void>; kalle: User; nineteenth: string };
const test = suite('Search relevance on the demo data');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  await seedDemoData(ctx.db);
  ctx.kalle = await ctx.db.selectFrom('users').selectAll().where('login', '=', 'KALLE').executeTakeFirstOrThrow();
  const cases = await ctx.db.selectFrom('cases').select('number').orderBy('id').execute();
  ctx.nineteenth = cases[18]?.number ?? '';
});
test.after(async () => ctx.drop());

type Expect = (row: OverviewRow) => boolean;
const contact =
  (name: string): Expect =>
  (row) =>
    row.contact_name === name;
const customer =
  (name: string): Expect =>
  (row) =>
    row.customer_name === name;
const title =
  (pattern: RegExp): Expect =>
  (row) =>
    pattern.test(row.title);
const both =
  (...all: Expect[]): Expect =>
  (row) =>
    all.every((e) => e(row));

// [what is typed, what the first hit must be]; the numbered ones are filled in once seeded.
const queries: [string | (() => string), Expect, string][] = [
  ['Karlsson', contact('Fatima Karlsson'), 'a contact surname'],
  ['Fatima', contact('Fatima Karlsson'), 'a contact first name'],
  ['fatima@kanelbullen.se', contact('Fatima Karlsson'), 'a contact address'],
  ['fatima@kanel', contact('Fatima Karlsson'), 'an address half typed'],
  ['karin@sjobergredovisning.se', contact('Karin Sjöberg'), 'an address of a name with accents'],
  ['kanelbullen', customer('Kafé Kanelbullen'), 'a customer name'],
  ['kafe', customer('Kafé Kanelbullen'), 'a customer name without its accent'],
  ['akeri', customer('Gustafssons Åkeri'), 'a customer word without its ring'],
  ['gustafssons åkeri', customer('Gustafssons Åkeri'), 'a customer name with its ring'],
  ['sjoberg', customer('Sjöberg Redovisning'), 'a customer without its umlaut'],
  ['ostra vardcentralen', customer('Östra Vårdcentralen'), 'two unaccented words of a customer'],
  ['lars bergstrom', contact('Lars Bergström'), 'a full name without accents'],
  ['lena ost', contact('Lena Öst'), 'a short surname without accents'],
  ['10007', customer('Kafé Kanelbullen'), 'a customer number'],
  [() => ctx.nineteenth, (row) => row.number === ctx.nineteenth, 'a whole case number'],
  [
    () => ctx.nineteenth.split('-').pop() ?? '',
    (row) => row.number === ctx.nineteenth,
    'the serial part of a case number',
  ],
  ['skriv', title(/^Skrivaren fastnar$/), 'a title word half typed'],
  ['skrivare', title(/^Skrivaren fastnar$/), 'an inflection (skrivare/skrivaren)'],
  ['skrivaren', title(/^Skrivaren fastnar$/), 'the word as in the title'],
  ['fakturor', title(/faktur/i), 'a plural of a title word'],
  ['leveranser', title(/leverans/), 'a plural of a title word'],
  ['licenser', title(/licens/), 'a plural of a title word'],
  ['portal', title(/portalen/), 'the stem of a title word'],
  ['nätverket långsamt', title(/^Nätverket går långsamt$/), 'two title words'],
  ['natverket', title(/^Nätverket går långsamt$/), 'a title word without its accent'],
  ['fel', title(/^Fel belopp/), 'a title hit above newer thread hits ("fel lösenord", "felet")'],
  ['eva', contact('Eva Strand'), 'a contact above a thread that names her'],
  ['lösenord', title(/logga in/), 'a word only in the thread'],
  ['faktura 4711', title(/^Faktura 4711 saknas$/), 'a word and a number of a title'],
  [
    () => String(Number(ctx.nineteenth.split('-').pop())),
    (row) => row.number === ctx.nineteenth,
    'the serial part of a case number without its zeros ("19")',
  ],
  ['andra vaningen', title(/^Skrivaren fastnar$/), 'words of the thread without their accents'],
  ['fargtoner', title(/^Beställning av toner$/), 'a thread word without its accent'],
  [
    'skrivaren kanelbullen',
    both(title(/^Skrivaren/), customer('Kafé Kanelbullen')),
    'words from the title and the customer together',
  ],
];

test('the first hit of each of 33 searches is the case people mean', async () => {
  assert.is(queries.length, 33);
  const misses: string[] = [];
  for (const [typed, expect, why] of queries) {
    const q = typeof typed === 'function' ? typed() : typed;
    const { rows } = await listOverview(
      ctx.db,
      { ...defaultFilter, resp: 'any', kind: 'all', q, sort: 'relevance' },
      ctx.kalle,
      { today: new Date().toISOString().slice(0, 10), timeZone: 'Europe/Stockholm' },
    );
    const first = rows[0];
    if (!first || !expect(first)) {
      misses.push(
        `"${q}" (${why}): got ${first ? `${first.number} ${first.title} / ${first.customer_name} / ${first.contact_name}` : 'nothing'}`,
      );
    }
  }
  console.log(`search relevance: ${queries.length - misses.length}/${queries.length}`);
  assert.equal(misses, [], misses.join('\n'));
});

test.run();
