import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createApiToken } from '../api/tokens.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { type JobProcess, startJobProcess } from '../test-support/job-process.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { isAllowedTarget } from './address-guard.ts';
import { retryDelayMs } from './backoff.ts';
import { deliverDueWebhooks } from './deliver.ts';
import { signDelivery, verifyDelivery } from './signature.ts';
import { createWebhook, webhookEvents } from './webhooks.ts';

const pure = suite('Webhooks: the address guard, the signature and the backoff');

pure('private, loopback, link-local and mapped addresses are refused unless allowed', () => {
  for (const address of [
    '10.1.2.3',
    '192.168.0.1',
    '172.16.5.5',
    '127.0.0.1',
    '169.254.169.254',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:10.0.0.1',
    '0.0.0.0',
    '100.64.0.1',
    '224.0.0.1',
  ])
    assert.not.ok(isAllowedTarget(address, []), address);
  for (const address of ['93.184.216.34', '2606:4700:4700::1111']) assert.ok(isAllowedTarget(address, []), address);
  assert.ok(isAllowedTarget('127.0.0.1', ['127.0.0.1']));
  assert.ok(isAllowedTarget('10.9.8.7', ['10.9.0.0/16']));
  assert.not.ok(isAllowedTarget('10.10.8.7', ['10.9.0.0/16']));
  assert.not.ok(isAllowedTarget('not an address', ['127.0.0.1']));
});

pure('a receiver verifies a signature, and refuses a changed body, another secret or an old timestamp', () => {
  const body = '{"event":"case.created"}';
  const header = signDelivery('whsec_a', 1_800_000_000, body);
  assert.equal(verifyDelivery('whsec_a', header, body, 1_800_000_010), { ok: true });
  assert.equal(verifyDelivery('whsec_a', header, `${body} `, 1_800_000_010), { ok: false, reason: 'mismatch' });
  assert.equal(verifyDelivery('whsec_b', header, body, 1_800_000_010), { ok: false, reason: 'mismatch' });
  assert.equal(verifyDelivery('whsec_a', header, body, 1_800_001_000), { ok: false, reason: 'too_old' });
  assert.equal(verifyDelivery('whsec_a', 'garbage', body, 1_800_000_000), { ok: false, reason: 'malformed' });
});

pure('retries come after 1, 2, 4 … minutes, at most an hour apart', () => {
  assert.equal(
    [1, 2, 3, 4, 7, 8, 20].map((n) => retryDelayMs(n) / 60_000),
    [1, 2, 4, 8, 60, 60, 60],
  );
});

pure.run();

// A receiver on loopback that checks each delivery's signature as the README says a receiver
// should, and keeps what it got.
type Received = { event: string; id: string; body: Record<string, unknown>; verified: boolean };
type Receiver = {
  url: string;
  got: Received[];
  // what it answers next; 'hang' keeps the request open until the test lets go
  answer: number | 'hang';
  close: () => Promise<void>;
};
async function startReceiver(secret: () => string): Promise<Receiver> {
  const hanging: http.ServerResponse[] = [];
  const receiver: Receiver = { url: '', got: [], answer: 200, close: async () => {} };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const verdict = verifyDelivery(
        secret(),
        request.headers['casedesk-signature'] as string,
        raw,
        Math.floor(Date.now() / 1000),
      );
      const body = JSON.parse(raw) as Record<string, unknown>;
      receiver.got.push({ event: String(body.event), id: String(body.id), body, verified: verdict.ok });
      if (receiver.answer === 'hang') hanging.push(response);
      else response.writeHead(receiver.answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

const ctx = {} as {
  db: Db;
  url: string;
  drop: () => Promise<void>;
  app: FastifyInstance;
  kalle: User;
  boss: User;
  customerId: number;
  receiver: Receiver;
  secret: string;
  webhookId: number;
};
const allowLoopback = { WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1' };
const config = testConfig(allowLoopback);
const test = suite('Webhooks: signed deliveries from a durable queue');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, url: t.url, drop: t.drop });
  ctx.app = await buildTestApp(t.db, allowLoopback);
  ctx.kalle = await seedUser(t.db, 'KALLE');
  ctx.boss = await seedUser(t.db, 'BOSS', 'admin', { language: 'en' });
  ctx.customerId = (await seedAcme(t.db)).customer.id;
  ctx.receiver = await startReceiver(() => ctx.secret);
});
test.after(async () => {
  await ctx.receiver.close();
  await ctx.app.close();
  await ctx.drop();
});

const deliver = () => deliverDueWebhooks(ctx.db, config);
const received = (event: string) => ctx.receiver.got.filter((g) => g.event === event);

test('an administrator registers a webhook by its page, and a private address is refused there', async () => {
  const admin = new TestClient(ctx.app);
  await admin.login('BOSS');
  await admin.get('/admin/webhooks/new');
  const refused = await admin.post('/admin/webhooks', {
    url: 'http://10.0.0.5/hook',
    events: 'case.created',
    active: 'on',
  });
  assert.is(refused.statusCode, 422);
  assert.match(refused.body, 'private, loopback or link-local');
  const form = new URLSearchParams([
    ['_csrf', admin.csrf],
    ['url', ctx.receiver.url],
    ['active', 'on'],
    ...webhookEvents.map((e) => ['events', e]),
  ]);
  const made = await admin.request({
    method: 'POST',
    url: '/admin/webhooks',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form.toString(),
  });
  assert.is(made.statusCode, 303, made.body);
  const page = await admin.get(made.headers.location as string);
  assert.match(page.body, 'Signing secret');
  const row = await ctx.db
    .selectFrom('webhooks')
    .selectAll()
    .where('url', '=', ctx.receiver.url)
    .executeTakeFirstOrThrow();
  ctx.secret = row.secret;
  ctx.webhookId = row.id;
  const agent = new TestClient(ctx.app);
  await agent.login('KALLE');
  assert.is((await agent.get('/admin/webhooks')).statusCode, 403);
});

test('a case created through the API is told, signed, once; closing it tells case.updated and case.closed', async () => {
  const { token } = await createApiToken(ctx.db, ctx.kalle, { name: 'hooks', access: 'write', expires_in_days: 7 });
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/cases',
    headers: { authorization: `Bearer ${token}` },
    payload: { title: 'Webhook-ärende', customer_id: ctx.customerId, body_text: 'Hej' },
  });
  assert.is(res.statusCode, 201, res.body);
  const number = res.json().number as string;
  assert.is(ctx.receiver.got.length, 0, 'nothing is sent inside the request');
  await deliver();
  const created = received('case.created');
  assert.is(created.length, 1);
  assert.ok(created[0]?.verified, 'the signature verifies');
  assert.is((created[0]?.body.data as { case: { number: string } } | undefined)?.case.number, number);
  const closed = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('kind', '=', 'closed')
    .executeTakeFirstOrThrow();
  const patch = await ctx.app.inject({
    method: 'PATCH',
    url: `/api/v1/cases/${number}`,
    headers: { authorization: `Bearer ${token}`, 'if-match': `"${res.json().version}"` },
    payload: { status_id: closed.id },
  });
  assert.is(patch.statusCode, 200, patch.body);
  await deliver();
  assert.is(received('case.closed').length, 1);
  assert.ok(received('case.updated').length >= 1);
  assert.ok(ctx.receiver.got.every((g) => g.verified));
  const log = await ctx.db.selectFrom('webhook_deliveries').select(['status', 'last_status_code']).execute();
  assert.ok(log.every((d) => d.status === 'delivered' && d.last_status_code === 200));
});

test('a change that rolls back tells nothing', async () => {
  const before = ctx.receiver.got.length;
  await ctx.db
    .transaction()
    .execute(async (trx) => {
      await seedPrinterJamCase(trx, ctx.kalle, ctx.customerId);
      throw new Error('rolled back');
    })
    .catch(() => {});
  await deliver();
  assert.is(ctx.receiver.got.length, before);
});

test('a receiver that fails gets the delivery again later, with the same event id; redeliver and send test work', async () => {
  ctx.receiver.answer = 500;
  await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId);
  await deliver();
  const row = await ctx.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('event', '=', 'case.created')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  assert.is(row.status, 'pending');
  assert.is(row.attempts, 1);
  assert.is(row.last_status_code, 500);
  assert.ok(row.next_attempt_at.getTime() > Date.now() + 30_000, 'the next try waits');
  ctx.receiver.answer = 200;
  const admin = new TestClient(ctx.app);
  await admin.login('BOSS');
  await admin.get(`/admin/webhooks/${ctx.webhookId}`);
  const again = await admin.post(`/admin/webhooks/${ctx.webhookId}/deliveries/${row.id}/redelivery`, {});
  assert.is(again.statusCode, 303);
  await deliver();
  const tries = ctx.receiver.got.filter((g) => g.id === row.event_id);
  assert.is(tries.length, 2, 'the failed try and the redelivery, with one event id');
  await admin.post(`/admin/webhooks/${ctx.webhookId}/test`, {});
  await deliver();
  assert.is(received('ping').length, 1);
  const page = await admin.get(`/admin/webhooks/${ctx.webhookId}`);
  assert.match(page.body, 'Delivered');
  assert.match(page.body, 'ping');
});

test('a host name that resolves into the network is refused when sending, unless allowed', async () => {
  const other = await createWebhook(
    ctx.db,
    {
      url: `http://localhost:${new URL(ctx.receiver.url).port}/hook`,
      events: ['case.created'],
      description: '',
      active: true,
    },
    ctx.boss.id,
    ['127.0.0.1'],
  );
  await ctx.db.updateTable('webhooks').set({ active: false }).where('id', '=', ctx.webhookId).execute();
  await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId);
  await ctx.db.updateTable('webhooks').set({ active: true }).where('id', '=', ctx.webhookId).execute();
  const before = ctx.receiver.got.length;
  // without the allow-list: localhost is 127.0.0.1, in the network
  await deliverDueWebhooks(ctx.db, testConfig());
  const row = await ctx.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', other.id)
    .executeTakeFirstOrThrow();
  assert.is(row.status, 'pending');
  assert.match(String(row.last_error), 'not a public address');
  assert.is(ctx.receiver.got.length, before, 'nothing reached the receiver');
  await ctx.db.deleteFrom('webhooks').where('id', '=', other.id).execute();
});

test('a sender killed between the commit and the answer loses nothing and repeats at most one delivery', async () => {
  await deliver();
  const sender: JobProcess = await startJobProcess({ databaseUrl: ctx.url });
  try {
    const kase = await seedPrinterJamCase(ctx.db, ctx.kalle, ctx.customerId, undefined, { title: 'Dödad leverans' });
    ctx.receiver.answer = 'hang';
    const before = ctx.receiver.got.length;
    const run = sender.run('deliver-webhooks').catch(() => null);
    // the receiver has the request (the sender sent it), and the sender is killed before it hears back
    for (let i = 0; i < 200 && ctx.receiver.got.length === before; i++) await new Promise((r) => setTimeout(r, 25));
    assert.is(ctx.receiver.got.length, before + 1, 'the sender posted the delivery');
    await sender.kill();
    await run;
    ctx.receiver.answer = 200;
    // the killed sender's claim runs out (60 s); here it is made to have run out
    const claimed = await ctx.db
      .updateTable('webhook_deliveries')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('status', '=', 'pending')
      .where('locked_until', 'is not', null)
      .returning('event_id')
      .execute();
    assert.is(claimed.length, 1, 'the killed sender held it, unfinished');
    await deliver();
    const told = ctx.receiver.got.filter(
      (g) => g.event === 'case.created' && (g.body.data as { case: { number: string } }).case.number === kase.number,
    );
    assert.is(told.length, 2, 'delivered again after the kill: one duplicate, nothing lost');
    assert.is(told[0]?.id, told[1]?.id, 'with the same event id, for the receiver to drop');
    const row = await ctx.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('event_id', '=', told[0]?.id ?? '')
      .executeTakeFirstOrThrow();
    assert.is(row.status, 'delivered');
  } finally {
    await sender.stop();
  }
});

test.run();
