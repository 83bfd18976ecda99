import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { notifyUser } from '../notifications/notifications.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { parseLivePayload } from './events.ts';
import { streamsPerUser } from './streams.ts';

// Live updates across two app instances on one database (issue 18, part 2): a quick edit made
// through one reaches an event stream of the other, a notification reaches its user's stream
// only, a stream that reconnects hears what it missed, and a user cannot open streams without end.
const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  one: FastifyInstance;
  two: FastifyInstance;
  twoBase: string;
  kalle: User;
  anna: User;
  kase: Case;
  kalleOnTwo: TestClient;
  annaOnOne: TestClient;
  annaOnTwo: TestClient;
};
const test = suite('Live updates between two instances');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  ctx.kalle = await seedUser(t.db, 'KALLE');
  ctx.anna = await seedUser(t.db, 'ANNA');
  const { customer } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, ctx.kalle, customer.id);
  ctx.one = await buildTestApp(t.db);
  ctx.two = await buildTestApp(t.db);
  await ctx.two.listen({ port: 0, host: '127.0.0.1' });
  ctx.twoBase = `http://127.0.0.1:${(ctx.two.server.address() as AddressInfo).port}`;
  ctx.kalleOnTwo = new TestClient(ctx.two);
  await ctx.kalleOnTwo.login('kalle');
  ctx.annaOnTwo = new TestClient(ctx.two);
  await ctx.annaOnTwo.login('anna');
  ctx.annaOnOne = new TestClient(ctx.one);
  await ctx.annaOnOne.login('anna');
});
test.after(async () => {
  await ctx.one?.close();
  await ctx.two?.close();
  await ctx.drop?.();
});

type Stream = { events: { event: string; data: string; id: string }[]; status: number; close: () => void };

// A real HTTP event stream on instance two, read as a browser's EventSource reads it.
function openStream(client: TestClient, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${ctx.twoBase}/events`,
      {
        headers: {
          cookie: `casedesk_session=${client.cookie('casedesk_session')}`,
          accept: 'text/event-stream',
          ...headers,
        },
      },
      (response) => {
        const stream: Stream = { events: [], status: response.statusCode ?? 0, close: () => request.destroy() };
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const field = (name: string) =>
              block
                .split('\n')
                .find((line) => line.startsWith(`${name}: `))
                ?.slice(name.length + 2) ?? '';
            if (field('event')) stream.events.push({ event: field('event'), data: field('data'), id: field('id') });
            end = buffer.indexOf('\n\n');
          }
        });
        response.on('error', () => undefined);
        resolve(stream);
      },
    );
    request.on('error', reject);
  });
}

async function waitForEvent(stream: Stream, event: string, test: (data: string) => boolean = () => true) {
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    const found = stream.events.find((e) => e.event === event && test(e.data));
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no "${event}" event within 3 s; heard ${JSON.stringify(stream.events)}`);
}

test('ANNA’s quick edit on instance one reaches KALLE’s stream on instance two, and his row there shows it', async () => {
  const stream = await openStream(ctx.kalleOnTwo);
  assert.is(stream.status, 200);
  await waitForEvent(stream, 'hello');
  const high = await ctx.db.selectFrom('priorities').select('id').where('name', '=', 'Hög').executeTakeFirstOrThrow();
  await ctx.annaOnOne.get('/cases?resp=any');
  const edit = await ctx.annaOnOne.post(
    `/cases/${ctx.kase.number}/quick-edit`,
    { field: 'priority_id', version: String(ctx.kase.version), value: String(high.id) },
    { htmx: true },
  );
  assert.is(edit.statusCode, 200, edit.body);
  const heard = await waitForEvent(stream, 'cases', (data) => JSON.parse(data).ids.includes(ctx.kase.id));
  assert.equal(JSON.parse(heard.data).versions, [ctx.kase.version + 1], 'with the version it has now');
  assert.ok(Number(heard.id) > 0, 'an id to reconnect with');
  // what KALLE's page then fetches: the row as stored now, with the tiles
  const row = await ctx.kalleOnTwo.get(`/cases/${ctx.kase.number}/row?resp=any`, { htmx: true });
  assert.is(row.statusCode, 200);
  assert.match(row.body, `id="case-row-${ctx.kase.id}"`);
  assert.match(row.body, `data-o="${high.id}"`);
  assert.match(row.body, 'id="tiles"');
  stream.close();
});

test('a notification reaches its user’s stream only, and the bell it fetches counts it', async () => {
  const kalle = await openStream(ctx.kalleOnTwo);
  const anna = await openStream(ctx.annaOnTwo);
  await waitForEvent(kalle, 'hello');
  await waitForEvent(anna, 'hello');
  await notifyUser(
    ctx.db,
    {
      userId: ctx.kalle.id,
      actorId: ctx.anna.id,
      kind: 'assigned',
      caseId: ctx.kase.id,
      summary: `${ctx.kase.number} ${ctx.kase.title}`,
      link: `/cases/${ctx.kase.number}`,
    },
    { config: testConfig() },
  );
  await waitForEvent(kalle, 'bell');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.ok(
    anna.events.some((e) => e.event === 'bell'),
    'ANNA hears nothing of KALLE’s bell',
  );
  const bell = await ctx.kalleOnTwo.get('/notifications/bell', { htmx: true });
  assert.match(bell.body, '<span class="badge">1</span>');
  kalle.close();
  anna.close();
});

test('a stream that reconnects with the id of its last event hears what changed meanwhile', async () => {
  const first = await openStream(ctx.kalleOnTwo);
  await waitForEvent(first, 'hello');
  const before = String(Date.now() - 1);
  first.close();
  // changed while KALLE's page had no stream
  const current = await ctx.db
    .selectFrom('cases')
    .select(['version'])
    .where('id', '=', ctx.kase.id)
    .executeTakeFirstOrThrow();
  await ctx.annaOnOne.get('/cases?resp=any');
  const edit = await ctx.annaOnOne.post(
    `/cases/${ctx.kase.number}/quick-edit`,
    { field: 'responsible_id', version: String(current.version), value: String(ctx.anna.id) },
    { htmx: true },
  );
  assert.is(edit.statusCode, 200, edit.body);
  const again = await openStream(ctx.kalleOnTwo, { 'last-event-id': before });
  await waitForEvent(again, 'cases', (data) => JSON.parse(data).includes(ctx.kase.id));
  await waitForEvent(again, 'bell');
  again.close();
});

test('a user gets a limited number of streams; signed out gets none', async () => {
  const open: Stream[] = [];
  for (let i = 0; i < streamsPerUser; i++) open.push(await openStream(ctx.annaOnTwo));
  const refused = await openStream(ctx.annaOnTwo);
  assert.is(refused.status, 429);
  refused.close();
  for (const s of open) s.close();
  const anonymous = await new Promise<number>((resolve) =>
    http.get(`${ctx.twoBase}/events`, (response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
    }),
  );
  assert.ok(anonymous >= 300 && anonymous < 500, String(anonymous));
});

test('a page opened on the stream’s address gets a short answer, not an endless stream', async () => {
  const page = await ctx.kalleOnTwo.get('/events', { headers: { accept: 'text/html' } });
  assert.is(page.statusCode, 406);
  assert.match(page.body, 'Den här adressen är till för sidornas uppdateringar i realtid.');
});

test('what the channel says is read strictly', () => {
  assert.equal(parseLivePayload('{"c":[1,2]}'), { kind: 'cases', ids: [1, 2] });
  assert.equal(parseLivePayload('{"c":[1,2],"v":[5,6]}'), { kind: 'cases', ids: [1, 2], versions: [5, 6] });
  assert.equal(
    parseLivePayload('{"c":[1,2],"v":[5]}'),
    { kind: 'cases', ids: [1, 2] },
    'versions that do not match the ids are dropped',
  );
  assert.equal(parseLivePayload('{"u":[3]}'), { kind: 'bell', userIds: [3] });
  assert.equal(parseLivePayload('{"all":true}'), { kind: 'resync' });
  assert.equal(parseLivePayload('*'), { kind: 'resync' });
  assert.is(parseLivePayload('{"c":["1;drop"]}'), null);
  assert.is(parseLivePayload('not json'), null);
  assert.is(parseLivePayload('null'), null);
});

test.run();
