import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ApiFixtures, buildApiFixtures, routeKey, sampleFor } from '../test-support/api-samples.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { escapeWatch } from '../test-support/escapes.ts';

// Odd input to every API route, as a broken or hostile client sends it, with a valid admin token
// so that every check past authentication is reached: the answer is never a 5xx, every refusal
// is a problem document, and the server goes on serving.

const ctx = {} as { f: ApiFixtures; drop: () => Promise<void> };
const test = suite('REST API fuzz: odd input to every route never answers 5xx, and the server stays up');

const escapes = escapeWatch();
const { escaped } = escapes;

test.before(async () => {
  escapes.start();
  const t = await createTestDatabase();
  ctx.drop = t.drop;
  ctx.f = await buildApiFixtures(t.db);
});
test.after(async () => {
  escapes.stop();
  await ctx.f.app.close();
  await ctx.drop();
});

const long = 'x'.repeat(100_000);
// Values a JSON field may be given instead of the right one.
const oddValues: unknown[] = [
  null,
  '',
  'a\u0000b',
  '\ud800',
  long,
  -1,
  0,
  1e308,
  2 ** 31,
  1.5,
  true,
  [],
  ['a', 'b'],
  {},
  { $gt: '' },
  '1; drop table cases',
];
const hostileSegments = [
  '%00',
  '..%2F..%2Fetc',
  "'%20or%201%3D1--",
  '%F0%9F%92%A9',
  'x'.repeat(300),
  '-1',
  '99999999999',
  '%E2%80%AE',
];

test('every route, with each field odd, a hostile path, odd headers and broken bodies', async () => {
  const { f } = ctx;
  const fiveHundreds: string[] = [];
  const notProblems: string[] = [];
  let sent = 0;
  const check = (res: LightMyRequestResponse, what: string) => {
    sent++;
    if (res.statusCode >= 500) fiveHundreds.push(`${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode >= 400 && !type.startsWith('application/problem+json'))
      notProblems.push(`${what}: ${res.statusCode} ${type}`);
  };
  const send = (opts: InjectOptions) =>
    f.app.inject({ ...opts, headers: { authorization: `Bearer ${f.tokens.admin}`, ...opts.headers } });

  for (const route of f.routes) {
    const key = routeKey(route);
    const method = route.method as InjectOptions['method'];
    const sample = await sampleFor(f, route);
    if (!sample) throw new Error(`${key} has no sample`);
    const body = (sample.payload ?? {}) as Record<string, unknown>;
    const fields = Object.keys(body).length ? Object.keys(body) : ['title', 'id', 'name'];

    if (route.method !== 'GET') {
      for (const field of fields)
        for (const value of oddValues) {
          const fresh = (await sampleFor(f, route)) ?? sample;
          const res = await send({
            method,
            url: fresh.url,
            headers: fresh.headers,
            payload: { ...(fresh.payload as object), [field]: value },
          });
          check(res, `${key} ${field}=${JSON.stringify(value).slice(0, 20)}`);
        }
      const broken: [string, string, string][] = [
        ['invalid JSON', 'application/json', '{"title": '],
        ['empty JSON', 'application/json', ''],
        ['a JSON string', 'application/json', '"x"'],
        ['a JSON array', 'application/json', '[1,2]'],
        ['__proto__', 'application/json', '{"__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}'],
        ['deep nesting', 'application/json', `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`],
        ['a form', 'application/x-www-form-urlencoded', 'title=a&title=b'],
        ['plain text', 'text/plain', 'hello'],
        ['over 1 MB', 'application/json', JSON.stringify({ title: 'x'.repeat(1_100_000) })],
        ['NUL in JSON', 'application/json', '{"title": "a\\u0000b", "body_text": "\\u0000"}'],
      ];
      for (const [what, type, payload] of broken) {
        const res = await send({
          method,
          url: sample.url,
          headers: { ...sample.headers, 'content-type': type },
          payload,
        });
        check(res, `${key} ${what}`);
      }
      for (const header of [
        { 'idempotency-key': 'a b' },
        { 'idempotency-key': 'x'.repeat(300) },
        { 'idempotency-key': '\u00e5\u00e4' },
        { 'if-match': 'W/"abc"' },
        { 'if-match': '"1", "2"' },
        { 'if-match': '*' },
        { 'if-match': '"99999999999999"' },
      ]) {
        const res = await send({
          method,
          url: sample.url,
          headers: { ...sample.headers, ...header },
          payload: sample.payload as object,
        });
        check(res, `${key} ${JSON.stringify(header)}`);
      }
    }
    // the query: every known name and some unknown, repeated, NUL, long
    for (const query of [
      'limit=1&limit=2',
      'q=%00',
      `q=${long.slice(0, 600)}`,
      'cursor=eyJ4Ijox',
      'cursor=W10',
      `cursor=${Buffer.from('["2026-01-01 00:00:00+00", 1e400]').toString('base64url')}`,
      'updated_since=yesterday',
      'updated_since=2026-13-45T99:00:00Z',
      'responsible=-1',
      'responsible=99999999999',
      'status=%FF',
      'limit=0',
      'limit=1e9',
      'include_inactive=maybe',
      'customer[]=a',
      'status_id=0x10',
    ]) {
      const url = `${sample.url.split('?')[0]}?${query}`;
      const res = await send({ method, url, headers: sample.headers, payload: sample.payload as object });
      check(res, `${key} ?${query.slice(0, 30)}`);
    }
    // each path parameter made hostile
    for (const param of [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1])) {
      for (const hostile of hostileSegments) {
        const parts = sample.url.split('?')[0]?.split('/') ?? [];
        const index = route.url.split('/').indexOf(`:${param}`);
        parts[index] = hostile;
        const res = await send({
          method,
          url: parts.join('/'),
          headers: sample.headers,
          payload: sample.payload as object,
        });
        check(res, `${key} :${param}=${hostile.slice(0, 12)}`);
      }
    }
    // odd Authorization headers
    for (const authorization of [
      'Bearer',
      'Bearer  ',
      `bearer ${f.tokens.admin} extra`,
      'Basic YTpi',
      `Bearer ${f.tokens.admin}\u0000`,
      `Bearer ${'A'.repeat(5000)}`,
    ]) {
      const res = await f.app.inject({
        method,
        url: sample.url,
        headers: { authorization },
        payload: sample.payload as object,
      });
      check(res, `${key} Authorization ${authorization.slice(0, 12)}`);
    }
    const health = await f.app.inject({ method: 'GET', url: '/healthz' });
    assert.is(health.statusCode, 200, `/healthz after ${key}`);
  }
  console.log(`  API fuzz requests sent: ${sent} to ${f.routes.length} routes`);
  assert.equal(fiveHundreds, [], 'no request was answered 5xx');
  assert.equal(notProblems, [], 'every refusal is a problem document');
  assert.equal(escaped, [], 'nothing escaped a handler');
});

test.run();
