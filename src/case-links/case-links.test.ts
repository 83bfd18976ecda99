import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { linkCases } from './case-links.ts';

// Links between cases over HTTP (issue 18, part 6): shown on both cases, added by case number,
// removed, and every hostile form refused without a half-made link.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  client: TestClient;
  printer: Case;
  toner: Case;
  network: Case;
  screen: Case;
};
const test = suite('Links between cases on the case page');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  const { customer } = await seedAcme(ctx.db);
  ctx.printer = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id);
  ctx.toner = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, undefined, { title: 'Tonern är slut' });
  ctx.network = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, undefined, { title: 'Nätverket ligger nere' });
  ctx.screen = await seedPrinterJamCase(ctx.db, ctx.kalle, customer.id, undefined, { title: 'Skärmen flimrar' });
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

const linksOf = (caseId: number) =>
  ctx.db
    .selectFrom('case_links')
    .select(['kind', 'from_case_id', 'to_case_id'])
    .where((eb) => eb.or([eb('from_case_id', '=', caseId), eb('to_case_id', '=', caseId)]))
    .orderBy('id')
    .execute();
const historyOf = (caseId: number) =>
  ctx.db
    .selectFrom('case_events')
    .select(['kind', 'field', 'old_value', 'new_value', 'user_id'])
    .where('case_id', '=', caseId)
    .where('kind', 'in', ['case_linked', 'case_unlinked'])
    .orderBy('id')
    .execute();
// the "Linked cases" section of a case's page
const panelOf = async (kase: Case) => {
  const page = await ctx.client.get(`/cases/${kase.number}`);
  assert.is(page.statusCode, 200, page.body);
  return /<section class="case-links"[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
};
const addLink = (kase: Case, form: Record<string, string>, opts: { htmx?: boolean } = {}) =>
  ctx.client.post(`/cases/${kase.number}/links`, form, opts);

test('a related link added on one case shows on both, with number, title and status, and in both histories', async () => {
  await ctx.client.get(`/cases/${ctx.printer.number}`);
  const res = await addLink(ctx.printer, { case_number: ctx.toner.number, role: 'related' });
  assert.is(res.statusCode, 303, res.body);
  assert.is(res.headers.location, `/cases/${ctx.printer.number}`);
  assert.equal(await linksOf(ctx.printer.id), [
    { kind: 'related', from_case_id: ctx.printer.id, to_case_id: ctx.toner.id },
  ]);

  const page = await ctx.client.get(`/cases/${ctx.printer.number}`);
  assert.match(page.body, `Ärende ${ctx.toner.number} är länkat.`);
  const here = /<section class="case-links"[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
  assert.match(here, 'Länkade ärenden');
  assert.match(here, `href="/cases/${ctx.toner.number}"`);
  assert.match(here, 'Tonern är slut');
  assert.match(here, 'Relaterat');
  assert.match(here, /case-link-status status-open">[^<]+</, 'the other case’s status');
  const there = await panelOf(ctx.toner);
  assert.match(there, `href="/cases/${ctx.printer.number}"`);
  assert.match(there, 'Skrivaren fastnar');

  assert.equal(await historyOf(ctx.printer.id), [
    { kind: 'case_linked', field: 'related', old_value: null, new_value: ctx.toner.number, user_id: ctx.kalle.id },
  ]);
  assert.equal(await historyOf(ctx.toner.id), [
    { kind: 'case_linked', field: 'related', old_value: null, new_value: ctx.printer.number, user_id: ctx.kalle.id },
  ]);
  const history = (await ctx.client.get(`/cases/${ctx.toner.number}/history`)).body;
  assert.match(history, 'Ärende länkat');
  assert.match(history, `<a href="/cases/${ctx.printer.number}">Relaterat ${ctx.printer.number}</a>`);
});

test('a second click, or the same link from the other case, leaves one link and says it is there', async () => {
  const again = await addLink(ctx.printer, { case_number: ctx.toner.number, role: 'related' });
  assert.is(again.statusCode, 303);
  assert.match(
    (await ctx.client.get(`/cases/${ctx.printer.number}`)).body,
    `Ärende ${ctx.toner.number} är redan länkat`,
  );
  const reverse = await addLink(ctx.toner, { case_number: ctx.printer.number, role: 'child' });
  assert.is(reverse.statusCode, 303);
  assert.match((await ctx.client.get(`/cases/${ctx.toner.number}`)).body, 'är redan länkat');
  // typed as only the digits of its number, it is the same case
  const digits = String(Number(/\d+$/.exec(ctx.toner.number)?.[0]));
  assert.is((await addLink(ctx.printer, { case_number: digits, role: 'related' })).statusCode, 303);
  assert.match(
    (await ctx.client.get(`/cases/${ctx.printer.number}`)).body,
    `Ärende ${ctx.toner.number} är redan länkat`,
  );
  assert.is((await linksOf(ctx.printer.id)).length, 1);
  assert.is((await historyOf(ctx.printer.id)).length, 1, 'no second history line');

  // two clicks at the same moment: one link
  const both = await Promise.all([
    addLink(ctx.network, { case_number: ctx.screen.number, role: 'related' }),
    addLink(ctx.network, { case_number: ctx.screen.number, role: 'related' }),
  ]);
  assert.equal(
    both.map((r) => r.statusCode),
    [303, 303],
  );
  assert.is((await linksOf(ctx.screen.id)).length, 1);
  assert.is((await historyOf(ctx.screen.id)).length, 1);
});

test('parent and child show the right way round on each case, and a loop is refused', async () => {
  // on the toner case: the network case is its parent; the screen case is its child
  assert.is((await addLink(ctx.toner, { case_number: ctx.network.number, role: 'parent' })).statusCode, 303);
  const toner = await panelOf(ctx.toner);
  assert.match(
    toner,
    /Överordnat ärende:<\/span>\s*<a href="\/cases\/[^"]+"><span class="case-number">[^<]+<\/span> Nätverket/,
  );
  const roles = await ctx.db
    .selectFrom('case_events')
    .select(['case_id', 'field'])
    .where('kind', '=', 'case_linked')
    .where('case_id', 'in', [ctx.toner.id, ctx.network.id])
    .where('new_value', 'in', [ctx.toner.number, ctx.network.number])
    .orderBy('case_id')
    .execute();
  assert.equal(
    roles.map((r) => [r.case_id === ctx.toner.id ? 'toner' : 'network', r.field]).sort(),
    [
      ['network', 'child'],
      ['toner', 'parent'],
    ],
    'each history names the other case’s role there',
  );
  const network = await panelOf(ctx.network);
  assert.match(
    network,
    /Underordnat ärende:<\/span>\s*<a href="\/cases\/[^"]+"><span class="case-number">[^<]+<\/span> Tonern/,
  );

  // network → toner → fresh (parent → child); fresh as network's parent would close the loop
  const fresh = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.printer.customer_id as number, undefined, {
    title: 'Ny dator',
  });
  assert.is((await addLink(fresh, { case_number: ctx.toner.number, role: 'parent' })).statusCode, 303);
  const loop = await addLink(ctx.network, { case_number: fresh.number, role: 'parent' });
  assert.is(loop.statusCode, 422);
  assert.match(loop.body, 'Då skulle ett ärende bli överordnat sig självt');
  assert.match(loop.body, `value="${fresh.number}"`, 'the typed number is kept');
  assert.is((await linksOf(fresh.id)).length, 1);
  // the same pair as related is no loop
  assert.is((await addLink(ctx.network, { case_number: fresh.number, role: 'related' })).statusCode, 303);
});

test('a case cannot be linked to itself or to a case that does not exist', async () => {
  const self = await addLink(ctx.printer, { case_number: ctx.printer.number, role: 'related' });
  assert.is(self.statusCode, 422);
  assert.match(self.body, 'Ett ärende kan inte länkas till sig självt.');
  const missing = await addLink(ctx.printer, { case_number: 'K-9999-9999', role: 'related' });
  assert.is(missing.statusCode, 422);
  assert.match(missing.body, 'Det finns inget ärende med det numret.');
  const empty = await addLink(ctx.printer, { case_number: '', role: 'related' });
  assert.is(empty.statusCode, 422);
  assert.match(empty.body, 'Måste fyllas i.');
  assert.is((await linksOf(ctx.printer.id)).length, 1);
});

test('hostile forms: NUL bytes, repeated fields, an unknown role, no CSRF token, no login', async () => {
  const before = await ctx.db.selectFrom('case_links').select('id').execute();
  const nul = await addLink(ctx.printer, { case_number: `${ctx.screen.number}\u0000`, role: 'related' });
  assert.ok([303, 422].includes(nul.statusCode), `NUL: ${nul.statusCode}`);
  const nulInside = await addLink(ctx.printer, { case_number: `K\u0000${ctx.screen.number}`, role: 'related' });
  assert.is(nulInside.statusCode, 422);
  const role = await addLink(ctx.printer, { case_number: ctx.network.number, role: 'sibling' });
  assert.is(role.statusCode, 422);
  const repeated = await ctx.client.request({
    method: 'POST',
    url: `/cases/${ctx.printer.number}/links`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams([
      ['_csrf', ctx.client.csrf],
      ['case_number', ctx.network.number],
      ['case_number', ctx.screen.number],
      ['role', 'related'],
    ]).toString(),
  });
  assert.is(repeated.statusCode, 422, repeated.body);
  const repeatedRole = await ctx.client.request({
    method: 'POST',
    url: `/cases/${ctx.printer.number}/links`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams([
      ['_csrf', ctx.client.csrf],
      ['case_number', ctx.network.number],
      ['role', 'related'],
      ['role', 'parent'],
    ]).toString(),
  });
  assert.is(repeatedRole.statusCode, 422, repeatedRole.body);
  const forged = await addLink(ctx.printer, { _csrf: '', case_number: ctx.network.number, role: 'related' });
  assert.is(forged.statusCode, 403);
  const stranger = new TestClient(ctx.app);
  const anonymous = await stranger.post(`/cases/${ctx.printer.number}/links`, {
    case_number: ctx.network.number,
    role: 'related',
  });
  assert.is(anonymous.statusCode, 401);
  const anonymousRemoval = await stranger.post(`/cases/${ctx.printer.number}/links/1/removal`);
  assert.is(anonymousRemoval.statusCode, 401);
  const noCase = await addLink(
    { ...ctx.printer, number: 'K-0000-0000' },
    { case_number: ctx.network.number, role: 'related' },
  );
  assert.is(noCase.statusCode, 404);
  const after = await ctx.db.selectFrom('case_links').select('id').execute();
  // the trailing NUL becomes a space and is trimmed: that link may have been made, nothing else
  assert.ok(after.length - before.length <= (nul.statusCode === 303 ? 1 : 0), 'no other link made');
});

test('an htmx form post is redirected by HX-Redirect', async () => {
  const res = await addLink(ctx.screen, { case_number: ctx.printer.number, role: 'related' }, { htmx: true });
  assert.ok([204].includes(res.statusCode), res.body);
  assert.is(res.headers['hx-redirect'], `/cases/${ctx.screen.number}`);
});

test('a link is removed from both cases, once, and only through a case it belongs to', async () => {
  const link = await ctx.db
    .selectFrom('case_links')
    .select('id')
    .where('from_case_id', '=', ctx.printer.id)
    .where('to_case_id', '=', ctx.toner.id)
    .executeTakeFirstOrThrow();
  await ctx.client.get(`/cases/${ctx.printer.number}`);
  // through a case the link does not join: nothing removed
  const elsewhere = await ctx.client.post(`/cases/${ctx.network.number}/links/${link.id}/removal`);
  assert.is(elsewhere.statusCode, 303);
  assert.ok(await ctx.db.selectFrom('case_links').select('id').where('id', '=', link.id).executeTakeFirst());
  assert.is(
    (await ctx.client.post(`/cases/${ctx.printer.number}/links/${link.id}/removal`, { _csrf: '' })).statusCode,
    403,
  );

  const removed = await ctx.client.post(`/cases/${ctx.printer.number}/links/${link.id}/removal`);
  assert.is(removed.statusCode, 303);
  const page = await ctx.client.get(`/cases/${ctx.printer.number}`);
  assert.match(page.body, `Länken till ${ctx.toner.number} är borttagen.`);
  assert.not.match(await panelOf(ctx.printer), 'Tonern är slut');
  assert.not.match(await panelOf(ctx.toner), 'Skrivaren fastnar');
  assert.equal((await historyOf(ctx.toner.id)).at(-1), {
    kind: 'case_unlinked',
    field: 'related',
    old_value: ctx.printer.number,
    new_value: null,
    user_id: ctx.kalle.id,
  });
  assert.equal((await historyOf(ctx.printer.id)).at(-1)?.kind, 'case_unlinked');

  const twice = await ctx.client.post(`/cases/${ctx.printer.number}/links/${link.id}/removal`);
  assert.is(twice.statusCode, 303);
  assert.match((await ctx.client.get(`/cases/${ctx.printer.number}`)).body, 'Den länken var redan borttagen.');
  assert.is((await historyOf(ctx.printer.id)).filter((e) => e.kind === 'case_unlinked').length, 1);
  assert.is((await ctx.client.post(`/cases/${ctx.printer.number}/links/abc/removal`)).statusCode, 404);
  assert.is((await ctx.client.post(`/cases/${ctx.printer.number}/links/99999999999/removal`)).statusCode, 404);
});

test('the domain function refuses as the form does, for a caller without HTTP', async () => {
  const outcome = await linkCases(ctx.db, ctx.printer.id, 'finns-inte', 'related', null);
  assert.equal(outcome, { ok: false, reason: 'not_found', otherNumber: null });
  const made = await linkCases(ctx.db, ctx.printer.id, ctx.toner.number, 'child', null);
  assert.ok(made.ok);
  assert.equal((await historyOf(ctx.toner.id)).at(-1)?.user_id, null, 'written by the system');
});

test('two parent links added at the same moment that together would close a loop: one is refused', async () => {
  const customerId = ctx.printer.customer_id as number;
  const [a, b, c] = await Promise.all(
    ['Loop A', 'Loop B', 'Loop C'].map((title) =>
      seedPrinterJamCase(ctx.db, ctx.kalle, customerId, undefined, { title }),
    ),
  );
  if (!a || !b || !c) throw new Error('seed');
  assert.ok((await linkCases(ctx.db, a.id, b.number, 'child', null)).ok, 'A → B');
  for (let round = 0; round < 5; round++) {
    // B → C and C → A, each fine alone
    const outcomes = await Promise.all([
      linkCases(ctx.db, b.id, c.number, 'child', null),
      linkCases(ctx.db, c.id, a.number, 'child', null),
    ]);
    assert.equal(outcomes.filter((o) => o.ok).length, 1, JSON.stringify(outcomes));
    assert.ok(outcomes.some((o) => !o.ok && o.reason === 'cycle'));
    await ctx.db
      .deleteFrom('case_links')
      .where((eb) =>
        eb.or([
          eb.and([eb('from_case_id', '=', b.id), eb('to_case_id', '=', c.id)]),
          eb.and([eb('from_case_id', '=', c.id), eb('to_case_id', '=', a.id)]),
        ]),
      )
      .execute();
  }
});

test.run();
