import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { quickEditCase } from './cases.ts';

// Bulk actions on the overview over HTTP (issue 18, part 3): one action for many cases, each
// through the quick edit's rules and history, a case changed since the page was shown skipped,
// a second click answered with the first one's summary, and every hostile form refused whole.
const ctx = {} as {
  db: Db;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  client: TestClient;
  customerId: number;
  contactId: number;
};
const test = suite('Bulk actions on the overview');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, app: await buildTestApp(t.db) });
  ctx.kalle = await seedUser(ctx.db, 'KALLE');
  ctx.anna = await seedUser(ctx.db, 'ANNA');
  const { customer, contact } = await seedAcme(ctx.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
  ctx.client = new TestClient(ctx.app);
  await ctx.client.login('kalle');
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

// in id order, as the rows are read back
const newCases = async (n: number, opts: { contact?: boolean } = {}) =>
  (
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, opts.contact === false ? undefined : ctx.contactId, {
          title: `Ärende ${i + 1}`,
        }),
      ),
    )
  ).sort((a, b) => a.id - b.id);
const idOf = async (table: 'priorities' | 'case_statuses', where: { name?: string; kind?: string }) => {
  let q = ctx.db.selectFrom(table).select('id');
  if (where.name) q = q.where('name', '=', where.name);
  if (table === 'case_statuses' && where.kind)
    q = ctx.db
      .selectFrom('case_statuses')
      .select('id')
      .where('kind', '=', where.kind as 'closed');
  return (await q.orderBy('id').executeTakeFirstOrThrow()).id;
};
// the form as public/bulk.js sends it: each ticked row as case=id:version
const send = (fields: [string, string][], opts: { csrf?: boolean } = {}) => {
  const form = new URLSearchParams(opts.csrf === false ? fields : [['_csrf', ctx.client.csrf], ...fields]);
  return ctx.client.request({
    method: 'POST',
    url: '/cases/bulk-changes',
    payload: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
};
const picked = (cases: Pick<Case, 'id' | 'version'>[]): [string, string][] =>
  cases.map((c) => ['case', `${c.id}:${c.version}`]);
const reread = (ids: number[]) =>
  ctx.db
    .selectFrom('cases')
    .select(['id', 'number', 'version', 'priority_id', 'status_kind', 'responsible_id'])
    .where('id', 'in', ids)
    .orderBy('id')
    .execute();
// what the user reads on the overview the form brought them back to
const summaryShown = async (location: string | undefined) => {
  const page = await ctx.client.get(String(location));
  assert.is(page.statusCode, 200);
  return page.body;
};

test('a priority for three cases: each changed with its history row, and the summary on the overview', async () => {
  const cases = await newCases(3);
  const high = await idOf('priorities', { name: 'Hög' });
  const res = await send([
    ...picked(cases),
    ['action', 'priority_id'],
    ['priority_id', String(high)],
    ['back', '/cases?resp=any'],
  ]);
  assert.is(res.statusCode, 303, res.body);
  assert.is(res.headers.location, '/cases?resp=any');
  const after = await reread(cases.map((c) => c.id));
  assert.equal(
    after.map((c) => c.priority_id),
    [high, high, high],
  );
  assert.equal(
    after.map((c) => c.version),
    cases.map((c) => c.version + 1),
  );
  const history = await ctx.db
    .selectFrom('case_events')
    .select(['case_id', 'user_id', 'new_value'])
    .where('field', '=', 'priority_id')
    .where(
      'case_id',
      'in',
      cases.map((c) => c.id),
    )
    .execute();
  assert.is(history.length, 3);
  assert.ok(history.every((h) => h.user_id === ctx.kalle.id && h.new_value === String(high)));
  assert.match(await summaryShown(res.headers.location as string), '3 ändrade, 0 hoppades över');
});

test('a case someone changed since the overview was shown is skipped, named, and keeps their change', async () => {
  const cases = await newCases(3);
  const [first, second, third] = cases as [Case, Case, Case];
  // ANNA takes the second case after KALLE's overview showed it
  await quickEditCase(ctx.db, second.id, second.version, 'responsible_id', String(ctx.anna.id), ctx.anna);
  const res = await send([...picked(cases), ['action', 'responsible_id'], ['responsible_id', '']]);
  assert.is(res.statusCode, 303, res.body);
  const after = await reread([first.id, second.id, third.id]);
  assert.equal(
    after.map((c) => c.responsible_id),
    [null, ctx.anna.id, null],
  );
  assert.match(
    await summaryShown(res.headers.location as string),
    `2 ändrade, 1 hoppades över · ändrat av någon annan (${second.number})`,
  );
});

test('close with a message: each customer gets one reply, a case without an address is skipped, and a second click changes nothing', async () => {
  const withContact = await newCases(2);
  const [withoutContact] = (await newCases(1, { contact: false })) as [Case];
  await ctx.db.updateTable('cases').set({ contact_email: null }).where('id', '=', withoutContact.id).execute();
  const all = await reread([...withContact.map((c) => c.id), withoutContact.id]);
  await ctx.client.get('/cases');
  const form: [string, string][] = [
    ...picked(all),
    ['action', 'close'],
    ['message', 'Vi stänger ärendet nu.\n\nHör av er om något mer dyker upp.'],
    ['form_key', 'bulk-close-key-0000001'],
  ];
  const res = await send(form);
  assert.is(res.statusCode, 303, res.body);
  const again = await send(form);
  assert.is(again.statusCode, 303, 'the second click gets the first summary');
  const after = await reread(all.map((c) => c.id));
  assert.equal(
    after.map((c) => c.status_kind),
    ['closed', 'closed', 'open'],
  );
  const replies = await ctx.db
    .selectFrom('thread_entries')
    .innerJoin('outbox', 'outbox.thread_entry_id', 'thread_entries.id')
    .select(['thread_entries.case_id', 'thread_entries.body_html', 'outbox.envelope_to'])
    .where(
      'thread_entries.case_id',
      'in',
      all.map((c) => c.id),
    )
    .where('thread_entries.side', '=', 'staff')
    .execute();
  assert.equal(replies.map((r) => r.case_id).sort(), withContact.map((c) => c.id).sort(), 'one reply per customer');
  assert.ok(replies.every((r) => r.body_html.includes('Vi stänger ärendet nu.')));
  assert.ok(
    replies.every((r) => String(r.envelope_to).includes('per@acme.se')),
    JSON.stringify(replies),
  );
  assert.match(
    await summaryShown(again.headers.location as string),
    `2 ändrade, 1 hoppades över · ingen e-postadress för meddelandet (${withoutContact.number})`,
  );
});

test('merge the picked cases into one of them: the others are merged, a changed one is skipped', async () => {
  const [target, dup1, dup2, changed] = (await newCases(4)) as [Case, Case, Case, Case];
  await quickEditCase(ctx.db, changed.id, changed.version, 'responsible_id', String(ctx.anna.id), ctx.anna);
  const res = await send([
    ...picked([target, dup1, dup2, changed]),
    ['action', 'merge'],
    ['merge_into', target.number],
  ]);
  assert.is(res.statusCode, 303, res.body);
  const rows = await ctx.db
    .selectFrom('cases')
    .select(['id', 'merged_into_id'])
    .where('id', 'in', [target.id, dup1.id, dup2.id, changed.id])
    .orderBy('id')
    .execute();
  assert.equal(
    rows.map((r) => r.merged_into_id),
    [null, target.id, target.id, null],
  );
  assert.match(
    await summaryShown(res.headers.location as string),
    `2 ändrade, 1 hoppades över · ändrat av någon annan (${changed.number})`,
  );
  const none = await send([...picked([dup1]), ['action', 'merge'], ['merge_into', '2099-00000']]);
  assert.is(none.statusCode, 422);
  assert.match(none.body, 'Det finns inget ärende med det numret att slå ihop med.');
});

test('hostile forms are refused whole: nothing picked, too many, garbage, a repeated action, no CSRF', async () => {
  const cases = await newCases(2);
  const high = String(await idOf('priorities', { name: 'Hög' }));
  const action: [string, string][] = [
    ['action', 'priority_id'],
    ['priority_id', high],
  ];
  const refused = async (fields: [string, string][], status: number, text?: string, opts: { csrf?: boolean } = {}) => {
    const res = await send(fields, opts);
    assert.is(res.statusCode, status, `${JSON.stringify(fields).slice(0, 200)}: ${res.body.slice(0, 300)}`);
    if (text) assert.match(res.body, text);
  };
  await refused(action, 422, 'Välj minst ett ärende.');
  await refused(
    [...Array.from({ length: 201 }, (_, i): [string, string] => ['case', `${i + 1}:1`]), ...action],
    422,
    'Högst 200 ärenden åt gången.',
  );
  await refused([['case', 'abc'], ...action], 422);
  await refused([['case', `${cases[0]?.id}:1\u0000`], ...action], 422);
  await refused([...picked(cases), ['action', 'priority_id'], ['action', 'close'], ['priority_id', high]], 422);
  await refused([...picked(cases), ['action', 'delete'], ['priority_id', high]], 422);
  await refused([...picked(cases), ...action], 403, undefined, { csrf: false });
  assert.equal(
    (await reread(cases.map((c) => c.id))).map((c) => c.version),
    cases.map((c) => c.version),
    'nothing changed',
  );
  // a way back off the site goes to the overview instead
  const res = await send([...picked(cases), ...action, ['back', 'https://evil.example/cases']]);
  assert.is(res.statusCode, 303);
  assert.is(res.headers.location, '/cases');
});

test('signed out: no bulk change, and the bar is not served', async () => {
  const stranger = new TestClient(ctx.app);
  const bar = await stranger.get('/cases/bulk-changes', { htmx: true });
  assert.ok(bar.statusCode >= 300 && bar.statusCode !== 200, String(bar.statusCode));
  const [kase] = (await newCases(1)) as [Case];
  const res = await stranger.request({
    method: 'POST',
    url: '/cases/bulk-changes',
    payload: `case=${kase.id}:${kase.version}&action=close`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.ok(res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 303, String(res.statusCode));
  assert.is((await reread([kase.id]))[0]?.status_kind, 'open');
});

test('the bar names its controls for the chosen action', async () => {
  const bar = await ctx.client.get('/cases/bulk-changes', { htmx: true });
  assert.is(bar.statusCode, 200);
  for (const label of [
    'Åtgärd',
    'Ny status',
    'Ny prioritet',
    'Ny ärendetyp',
    'Ny ansvarig',
    'Meddelande till varje kund (valfritt)',
  ])
    assert.match(bar.body, `>${label}</label>`);
  assert.match(bar.body, 'name="form_key"');
});

test.run();
