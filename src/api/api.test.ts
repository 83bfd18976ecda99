import type { FastifyInstance, InjectOptions } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDb, type Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { seedApprovalFolder } from '../test-support/approvals.ts';
import { createTestDatabase, untilChangeFeedListens } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { setUserActive } from '../users/users.ts';
import { createApiToken, revokeApiToken } from './tokens.ts';

const ctx = {} as {
  db: Db;
  url: string;
  app: FastifyInstance;
  drop: () => Promise<void>;
  kalle: User;
  anna: User;
  boss: User;
  customerId: number;
  contactId: number;
};
const test = suite('REST API: tokens, cases and thread');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.app = await buildTestApp(t.db);
  ctx.kalle = await seedUser(t.db, 'KALLE', 'agent', { language: 'en' });
  ctx.anna = await seedUser(t.db, 'ANNA', 'agent');
  ctx.boss = await seedUser(t.db, 'BOSS', 'admin');
  const { customer, contact } = await seedAcme(t.db);
  ctx.customerId = customer.id;
  ctx.contactId = contact.id;
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

async function tokenFor(user: User, access: 'read' | 'write' | 'admin' = 'write') {
  return (await createApiToken(ctx.db, user, { name: 'test', access, expires_in_days: 30 })).token;
}

function call(token: string | null, opts: InjectOptions) {
  return ctx.app.inject({
    ...opts,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(opts.headers ?? {}) },
  });
}

test('a request without a token, or with a made-up one, is refused as a problem', async () => {
  const none = await call(null, { method: 'GET', url: '/api/v1/cases' });
  assert.is(none.statusCode, 401);
  assert.match(String(none.headers['content-type']), 'application/problem+json');
  assert.match(String(none.headers['www-authenticate']), 'Bearer');
  assert.is(none.json().status, 401);
  const madeUp = await call(`cdp_${'A'.repeat(43)}`, { method: 'GET', url: '/api/v1/cases' });
  assert.is(madeUp.statusCode, 401);
  assert.is(madeUp.json().detail, 'No such token.');
});

test('a token creates a case, reads it back, and finds it among its own cases', async () => {
  const token = await tokenFor(ctx.kalle);
  const created = await call(token, {
    method: 'POST',
    url: '/api/v1/cases',
    payload: {
      title: 'Fakturan saknas',
      customer_id: ctx.customerId,
      contact_id: ctx.contactId,
      body_text: 'Hej!\nVar är fakturan?',
    },
  });
  assert.is(created.statusCode, 201, created.body);
  const kase = created.json();
  assert.is(kase.title, 'Fakturan saknas');
  assert.is(kase.responsible_id, ctx.kalle.id);
  assert.is(kase.customer_name, 'Acme AB');
  assert.is(kase.status_kind, 'open');
  assert.is(created.headers.location, `/api/v1/cases/${kase.number}`);
  const got = await call(token, { method: 'GET', url: `/api/v1/cases/${kase.number}` });
  assert.is(got.statusCode, 200);
  assert.is(got.headers.etag, `"${kase.version}"`);
  const thread = await call(token, { method: 'GET', url: `/api/v1/cases/${kase.number}/thread` });
  assert.is(thread.statusCode, 200, thread.body);
  assert.match(thread.json().data[0].body_html, 'Var är fakturan?');
  const mine = await call(token, { method: 'GET', url: '/api/v1/cases?responsible=me' });
  assert.is(mine.statusCode, 200, mine.body);
  assert.ok(mine.json().data.some((c: { number: string }) => c.number === kase.number));
});

test('a repeated create with the same Idempotency-Key makes one case', async () => {
  const token = await tokenFor(ctx.kalle);
  const payload = { title: 'Dubbelklick', customer_id: ctx.customerId, body_text: 'En gång' };
  const headers = { 'idempotency-key': 'order-4711' };
  const [a, b] = await Promise.all([
    call(token, { method: 'POST', url: '/api/v1/cases', payload, headers }),
    call(token, { method: 'POST', url: '/api/v1/cases', payload, headers }),
  ]);
  assert.is(a.statusCode, 201, a.body);
  assert.is(b.statusCode, 201, b.body);
  assert.is(a.json().number, b.json().number);
  const rows = await ctx.db.selectFrom('cases').select('id').where('title', '=', 'Dubbelklick').execute();
  assert.is(rows.length, 1);
  const other = await call(token, {
    method: 'POST',
    url: '/api/v1/cases',
    payload: { ...payload, title: 'Något annat' },
    headers,
  });
  assert.is(other.statusCode, 409);
});

test('a change with a stale If-Match is refused with 412; with the current one it goes through the lifecycle', async () => {
  const token = await tokenFor(ctx.kalle);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId);
  const closed = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'closed')
    .executeTakeFirstOrThrow();
  const noMatch = await call(token, { method: 'PATCH', url: `/api/v1/cases/${kase.number}`, payload: { title: 'x' } });
  assert.is(noMatch.statusCode, 428);
  const stale = await call(token, {
    method: 'PATCH',
    url: `/api/v1/cases/${kase.number}`,
    payload: { status_id: closed.id },
    headers: { 'if-match': `"${kase.version + 5}"` },
  });
  assert.is(stale.statusCode, 412, stale.body);
  assert.is(stale.headers.etag, `"${kase.version}"`);
  const ok = await call(token, {
    method: 'PATCH',
    url: `/api/v1/cases/${kase.number}`,
    payload: { status_id: closed.id, title: 'Skrivaren fungerar igen' },
    headers: { 'if-match': `"${kase.version}"` },
  });
  assert.is(ok.statusCode, 200, ok.body);
  assert.is(ok.json().status_kind, 'closed');
  assert.is(ok.json().title, 'Skrivaren fungerar igen');
  const row = await ctx.db
    .selectFrom('cases')
    .select(['closed_at'])
    .where('id', '=', kase.id)
    .executeTakeFirstOrThrow();
  assert.ok(row.closed_at, 'the lifecycle set closed_at');
  const history = await ctx.db
    .selectFrom('case_events')
    .select('field')
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'field_changed')
    .execute();
  assert.ok(history.some((h) => h.field === 'status_id'));
});

test('a refused body lists each field as a problem', async () => {
  const token = await tokenFor(ctx.kalle);
  const res = await call(token, { method: 'POST', url: '/api/v1/cases', payload: { title: '', customer_id: 'x' } });
  assert.is(res.statusCode, 422);
  const body = res.json();
  assert.ok(
    body.errors.some((e: { field: string }) => e.field.includes('customer_id')),
    res.body,
  );
  const bad = await call(token, {
    method: 'POST',
    url: '/api/v1/cases',
    payload: '{"title": ',
    headers: { 'content-type': 'application/json' },
  });
  assert.is(bad.statusCode, 400);
  const form = await call(token, {
    method: 'POST',
    url: '/api/v1/cases',
    payload: 'title=x',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.is(form.statusCode, 415);
});

test('a read token cannot write; a revoked, expired or deactivated user’s token opens nothing', async () => {
  const read = await tokenFor(ctx.anna, 'read');
  const list = await call(read, { method: 'GET', url: '/api/v1/cases' });
  assert.is(list.statusCode, 200);
  const write = await call(read, {
    method: 'POST',
    url: '/api/v1/cases',
    payload: { title: 'x', customer_id: ctx.customerId, body_text: 'y' },
  });
  assert.is(write.statusCode, 403);
  const expired = await createApiToken(
    ctx.db,
    ctx.anna,
    { name: 'old', access: 'read', expires_in_days: 7 },
    new Date(Date.now() - 8 * 86_400_000),
  );
  assert.is((await call(expired.token, { method: 'GET', url: '/api/v1/me' })).statusCode, 401);
  const user = await seedUser(ctx.db, 'LEAVER');
  const theirs = await tokenFor(user);
  assert.is((await call(theirs, { method: 'GET', url: '/api/v1/me' })).statusCode, 200);
  await setUserActive(ctx.db, user.id, false, undefined, ctx.boss.id);
  assert.is((await call(theirs, { method: 'GET', url: '/api/v1/me' })).statusCode, 401);
  await setUserActive(ctx.db, user.id, true, undefined, ctx.boss.id);
  assert.is(
    (await call(theirs, { method: 'GET', url: '/api/v1/me' })).statusCode,
    401,
    'reactivation does not revive it',
  );
});

test('a token kept by an instance opens nothing there once it is revoked, on that instance or another', async () => {
  // another instance: its own pool and change feed on the same database
  const other = createDb(ctx.url, 2);
  const b = await buildTestApp(other);
  try {
    await untilChangeFeedListens(ctx.db);
    await untilChangeFeedListens(other);
    const me = (app: FastifyInstance, token: string) =>
      app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    const token = await tokenFor(ctx.anna, 'read');
    const id = Number(
      (await ctx.db.selectFrom('api_tokens').select('id').orderBy('id', 'desc').executeTakeFirstOrThrow()).id,
    );
    for (const app of [ctx.app, b, ctx.app, b]) assert.is((await me(app, token)).statusCode, 200);
    // revoked through this instance: refused here at once, and on the other once it hears of it
    assert.ok(await revokeApiToken(ctx.db, ctx.anna.id, id));
    assert.is((await me(ctx.app, token)).statusCode, 401, 'refused at once where it was revoked');
    const deadline = Date.now() + 3_000;
    let there = (await me(b, token)).statusCode;
    while (there !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      there = (await me(b, token)).statusCode;
    }
    assert.is(there, 401, 'refused on the other instance within moments');

    // a deactivated user's kept token: still refused after a reactivation, at once
    const user = await seedUser(ctx.db, 'KEPT');
    const theirs = await tokenFor(user);
    assert.is((await me(ctx.app, theirs)).statusCode, 200);
    await setUserActive(ctx.db, user.id, false, undefined, ctx.boss.id);
    await setUserActive(ctx.db, user.id, true, undefined, ctx.boss.id);
    assert.is((await me(ctx.app, theirs)).statusCode, 401, 'reactivation does not revive a kept token');
  } finally {
    await b.close();
    await other.destroy();
  }
});

test('a reply sent through the API is queued once for the contact, even when posted twice with one key', async () => {
  const token = await tokenFor(ctx.kalle);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, ctx.contactId);
  const headers = { 'idempotency-key': 'reply-1' };
  const payload = { body_text: 'Vi skickar en tekniker.', send: true };
  const [a, b] = await Promise.all([
    call(token, { method: 'POST', url: `/api/v1/cases/${kase.number}/thread`, payload, headers }),
    call(token, { method: 'POST', url: `/api/v1/cases/${kase.number}/thread`, payload, headers }),
  ]);
  assert.is(a.statusCode, 201, a.body);
  assert.is(b.statusCode, 201, b.body);
  const mails = await ctx.db
    .selectFrom('outbox')
    .select(['envelope_to'])
    .where('case_id', '=', kase.id)
    .where('kind', '=', 'reply')
    .execute();
  assert.is(mails.length, 1);
  assert.equal(mails[0]?.envelope_to, ['per@acme.se']);
});

test('the session cookie of a logged-in browser opens nothing in the API, to read or to write', async () => {
  const client = new TestClient(ctx.app);
  await client.login('KALLE');
  const res = await client.get('/api/v1/me');
  assert.is(res.statusCode, 401);
  // a page elsewhere posting to the API with the browser's cookie (CSRF) makes nothing
  const before = await ctx.db
    .selectFrom('cases')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const posted = await client.request({
    method: 'POST',
    url: '/api/v1/cases',
    headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
    payload: JSON.stringify({ title: 'CSRF', customer_id: ctx.customerId, body_text: 'x' }),
  });
  assert.is(posted.statusCode, 401);
  const after = await ctx.db
    .selectFrom('cases')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  assert.is(after.n, before.n);
});

test("a reply through the API takes the case's documents along as attachments", async () => {
  const token = await tokenFor(ctx.kalle);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, ctx.contactId);
  const upload = await call(token, {
    method: 'POST',
    url: `/api/v1/cases/${kase.number}/documents`,
    payload: {
      file_name: 'prislista.txt',
      content_type: 'text/plain',
      content_base64: Buffer.from('Pris: 100 kr').toString('base64'),
    },
  });
  assert.is(upload.statusCode, 201, upload.body);
  const reply = await call(token, {
    method: 'POST',
    url: `/api/v1/cases/${kase.number}/thread`,
    payload: { body_text: 'Här är prislistan.', send: true, document_ids: [upload.json().id] },
  });
  assert.is(reply.statusCode, 201, reply.body);
  const mail = await ctx.db.selectFrom('outbox').select('raw').where('case_id', '=', kase.id).executeTakeFirstOrThrow();
  const raw = String(mail.raw);
  assert.match(raw, 'filename=prislista.txt');
  assert.match(raw, Buffer.from('Pris: 100 kr').toString('base64'));
});

test('the approval lock holds in the API: a document waiting for approval is neither opened nor replaced by others', async () => {
  const folderId = await seedApprovalFolder(ctx.db, [ctx.boss.id], 60);
  const kalle = await tokenFor(ctx.kalle);
  const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId);
  const upload = await call(kalle, {
    method: 'POST',
    url: `/api/v1/cases/${kase.number}/documents`,
    payload: {
      file_name: 'avtal.pdf',
      content_type: 'application/pdf',
      content_base64: Buffer.from('%PDF avtal').toString('base64'),
      folder_id: folderId,
    },
  });
  assert.is(upload.statusCode, 201, upload.body);
  assert.is(upload.json().approval_started, true);
  const id = upload.json().id as string;
  const anna = await tokenFor(ctx.anna);
  const opened = await call(anna, { method: 'GET', url: `/api/v1/documents/${id}/content` });
  assert.is(opened.statusCode, 403);
  const replaced = await call(kalle, {
    method: 'POST',
    url: `/api/v1/documents/${id}/versions`,
    payload: { file_name: 'avtal.pdf', content_base64: Buffer.from('%PDF ändrat').toString('base64') },
  });
  assert.is(replaced.statusCode, 409, replaced.body);
  const boss = await tokenFor(ctx.boss);
  const theirs = await call(boss, { method: 'GET', url: `/api/v1/documents/${id}/content` });
  assert.is(theirs.statusCode, 200);
  assert.is(theirs.body, '%PDF avtal');
  const pending = (await call(boss, { method: 'GET', url: '/api/v1/approvals' })).json().data;
  const mine = pending.find((a: { document_id: string }) => a.document_id === id);
  assert.ok(mine, 'the approver sees it waiting');
  const notTheirs = await call(anna, {
    method: 'POST',
    url: `/api/v1/approvals/${mine.chain_id}/decision`,
    payload: { decision: 'approve', step: mine.step },
  });
  assert.is(notTheirs.statusCode, 403);
  const approved = await call(boss, {
    method: 'POST',
    url: `/api/v1/approvals/${mine.chain_id}/decision`,
    payload: { decision: 'approve', step: mine.step },
  });
  assert.is(approved.statusCode, 200, approved.body);
  const twice = await call(boss, {
    method: 'POST',
    url: `/api/v1/approvals/${mine.chain_id}/decision`,
    payload: { decision: 'approve', step: mine.step },
  });
  assert.is(twice.statusCode, 409);
  assert.is(
    (await call(anna, { method: 'GET', url: `/api/v1/documents/${id}/content` })).statusCode,
    200,
    'approved: open to all',
  );
});

test('a token over its limit gets 429 with RateLimit headers, counted across two instances on one database', async () => {
  const limited = { API_RATE_LIMIT_PER_MINUTE: '3' };
  const [a, b] = [await buildTestApp(ctx.db, limited), await buildTestApp(ctx.db, limited)];
  try {
    const token = await tokenFor(ctx.anna, 'read');
    const get = (app: typeof a) =>
      app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    const first = await get(a);
    assert.is(first.statusCode, 200);
    assert.is(first.headers['ratelimit-limit'], '3');
    assert.is(first.headers['ratelimit-remaining'], '2');
    assert.is((await get(b)).statusCode, 200);
    assert.is((await get(a)).statusCode, 200);
    const over = await get(b);
    assert.is(over.statusCode, 429, 'the fourth request, on the other instance');
    assert.match(String(over.headers['content-type']), 'application/problem+json');
    assert.ok(Number(over.headers['retry-after']) > 0);
    // another token has a limit of its own
    const other = await tokenFor(ctx.kalle, 'read');
    const theirs = await a.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${other}` } });
    assert.is(theirs.statusCode, 200);
  } finally {
    await a.close();
    await b.close();
  }
});

test('the OpenAPI document and the reference page are served from the app', async () => {
  const doc = await call(null, { method: 'GET', url: '/api/v1/openapi.json' });
  assert.is(doc.statusCode, 200);
  const json = doc.json();
  assert.is(json.openapi, '3.1.0');
  assert.ok(json.paths['/api/v1/cases'].get);
  assert.ok(json.components.schemas.Case);
  const page = await call(null, { method: 'GET', url: '/api/v1/reference' });
  assert.is(page.statusCode, 200);
  assert.match(page.body, 'Casedesk API reference');
  assert.match(page.body, '/api/v1/cases/{number}');
});

test.run();
