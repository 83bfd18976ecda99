import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AppProcess, startApp } from '../bench/app-process.ts';
import { logIn } from '../bench/session.ts';
import type { Db } from '../db/database.ts';
import { seedUser, testPassword } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';

// Real app processes on one test database, as two machines behind a load balancer would run.
const test = suite<{ db: Db; url: string; drop: () => Promise<void>; apps: AppProcess[] }>('cluster');
const secret = 's'.repeat(40);

test.before(async (ctx) => {
  Object.assign(ctx, await createTestDatabase(), { apps: [] });
});
test.after.each(async (ctx) => {
  await Promise.all(ctx.apps.map((app) => app.stop()));
  ctx.apps = [];
});
test.after(async (ctx) => {
  await ctx.drop();
});

// A request on a new connection each time, so the cluster may hand it to any worker.
function getFresh(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
    // an answer that never comes fails the test here instead of at the runner's 5-minute limit
    request.setTimeout(10_000, () => request.destroy(new Error(`no answer from ${url} within 10 s`)));
  });
}

const row = (html: string, id: number) =>
  /id="case-row-\d+"[\s\S]*?<\/tr>/g.exec(html.slice(html.indexOf(`id="case-row-${id}"`)))?.[0] ?? '';

test('two instances: a session from one works on the other, a quick edit shows there, a logout ends it there', async (ctx) => {
  const user = await seedUser(ctx.db, 'KALLE');
  const { customer } = await seedAcme(ctx.db);
  const kase = await seedPrinterJamCase(ctx.db, user, customer.id);
  const waiting = await ctx.db
    .selectFrom('case_statuses')
    .select('id')
    .where('name', '=', 'Väntar på kund')
    .executeTakeFirstOrThrow();
  const env = { SESSION_SECRET: secret, JOBS: 'false', MAIL_SENDER: 'false' };
  const [a, b] = await Promise.all([
    startApp(ctx.url, env, { startTimeoutMs: 180_000 }),
    startApp(ctx.url, env, { startTimeoutMs: 180_000 }),
  ]);
  ctx.apps.push(a as AppProcess, b as AppProcess);
  if (!a || !b) throw new Error('no apps');

  const session = await logIn(a.baseUrl, 'KALLE', testPassword);
  const onB = () => fetch(`${b.baseUrl}/cases`, { headers: { cookie: session.cookie }, redirect: 'manual' });
  const before = await onB();
  assert.is(before.status, 200, 'the session made on A is valid on B');
  const beforeRow = row(await before.text(), kase.id);
  assert.match(beforeRow, 'Skrivaren fastnar');

  const edit = await fetch(`${a.baseUrl}/cases/${kase.number}/quick-edit`, {
    method: 'POST',
    headers: {
      cookie: session.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      'hx-request': 'true',
      'x-csrf-token': session.csrf,
    },
    body: new URLSearchParams({ field: 'status_id', value: String(waiting.id), version: String(kase.version) }),
  });
  assert.is(edit.status, 200, await edit.clone().text());
  const afterRow = row(await (await onB()).text(), kase.id);
  assert.is.not(afterRow, beforeRow, "A's quick edit shows on B's overview");
  assert.match(afterRow, /selected>Väntar på kund<|>Väntar på kund</);

  const out = await fetch(`${a.baseUrl}/logout`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: session.csrf }),
    redirect: 'manual',
  });
  assert.ok(out.status === 302 || out.status === 303, `logout answered ${out.status}`);
  const deadline = Date.now() + 1_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    status = (await onB()).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 50));
  }
  assert.is.not(status, 200, 'within a second of the logout on A the session no longer opens /cases on B');
});

test('WEB_CONCURRENCY=2 serves from two processes; a worker killed with SIGKILL is replaced while requests go on', async (ctx) => {
  const app = await startApp(
    ctx.url,
    { WEB_CONCURRENCY: '2', LOG_LEVEL: 'info', SESSION_SECRET: secret },
    { startTimeoutMs: 180_000 },
  );
  ctx.apps.push(app);
  const servingPids = () =>
    new Set([...app.output().matchAll(/"pid":(\d+)[^\n]*"msg":"request completed"/g)].map((m) => Number(m[1])));
  // /healthz answers as soon as the first worker listens; the primary says when both do.
  const readyBy = Date.now() + 120_000;
  while (!app.output().includes('with 2 web processes') && Date.now() < readyBy)
    await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 10; i++) assert.is(await getFresh(`${app.baseUrl}/healthz`), 200);
  const pids = servingPids();
  assert.is(pids.size, 2, `requests were served by ${[...pids].join(', ')}`);
  assert.not.ok(pids.has(app.pid), 'the primary serves no requests itself');

  const [victim] = [...pids];
  process.kill(victim as number, 'SIGKILL');
  const killedAt = Date.now();
  const answers: { afterMs: number; status: number }[] = [];
  while (Date.now() < killedAt + 3_000) {
    const status = await getFresh(`${app.baseUrl}/healthz`).catch(() => 0);
    answers.push({ afterMs: Date.now() - killedAt, status });
    await new Promise((r) => setTimeout(r, 50));
  }
  // Connections the primary handed to the killed worker before it heard of the exit die with it
  // (a load balancer in front retries those); once it has, every request is served by the other.
  const failed = answers.filter((a) => a.status !== 200);
  assert.ok(
    failed.length <= 3,
    `at most the requests of the first moment failed: ${failed.length} of ${answers.length}`,
  );
  assert.ok(
    failed.every((a) => a.afterMs < 1_000),
    `every request from a second after the kill answered 200: ${JSON.stringify(failed)}`,
  );
  assert.ok(answers.filter((a) => a.afterMs >= 1_000).length > 5, 'requests went on meanwhile');
  // The replacement takes a few seconds to load the app; until then the other worker serves.
  const fresh = () => [...servingPids()].filter((pid) => !pids.has(pid));
  const waitUntil = Date.now() + 30_000;
  while (fresh().length === 0 && Date.now() < waitUntil) {
    assert.is(await getFresh(`${app.baseUrl}/healthz`), 200);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(fresh().length, 1, `a new worker serves: ${[...servingPids()].join(', ')}`);
});

test.run();
