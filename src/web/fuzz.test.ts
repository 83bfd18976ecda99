import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Db } from '../db/database.ts';
import type { TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import {
  type AppRoute,
  buildAppWithRoutes,
  fieldsFor,
  fillPath,
  logInAndCollectForms,
  realParams,
  seedOneOfEach,
  takesMultipart,
  urlencoded,
} from '../test-support/every-route.ts';
import { type FormPart, multipartBody } from '../test-support/multipart.ts';

const ctx = {} as { db: Db; app: FastifyInstance; routes: AppRoute[]; drop: () => Promise<void> };
const test = suite('Fuzz: odd input to every route never answers 5xx, and the server stays up');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  await seedOneOfEach(t.db);
  const { app, routes } = await buildAppWithRoutes(t.db);
  Object.assign(ctx, { app, routes });
});
test.after(async () => {
  await ctx.app?.close();
  await ctx.drop?.();
});

type Pairs = [string, string | Buffer][];

// Fields to try on a route no page's form names.
const commonPostFields = ['name', 'title', 'body_html', 'value', 'version', 'active', 'id', 'back', 'file'];
const commonQueryFields = ['q', 'page', 'next', 'id'];

const long = 'x'.repeat(100_000);
// Bytes that are not UTF-8: raw in a body, and percent-escaped (a lone continuation byte, a
// truncated sequence, an overlong NUL and a surrogate encoded as UTF-8).
const rawBytes = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]);
const escapedBytes = Buffer.from('%FF%C3%28%C0%80%ED%A0%80');
// In a URL the server sees raw bytes as Latin-1 characters, which is what inject() is given.
const rawInUrl = rawBytes.toString('latin1');

// Each field in turn, with the other fields as the page's form would send them. NUL and invalid
// UTF-8 share a request (both are short, so both reach whatever stores or compares the value);
// 100 KB goes alone, as a length check would otherwise stop the NUL before the database sees it.
// A list or an object in one field is what the form parser makes of a repeat, so the
// all-at-once variants below send those.
const fieldVariants = (name: string): [string, Pairs][] => [
  [
    'repeated',
    [
      [name, 'a'],
      [name, 'b'],
    ],
  ],
  ['100 KB', [[name, long]]],
  ['NUL and invalid UTF-8', [[name, Buffer.concat([Buffer.from('a\u0000b\u0000'), rawBytes])]]],
];
// All fields at once.
const allFieldsVariants = (names: string[]): [string, Pairs][] => [
  [
    'all repeated',
    names.flatMap(
      (n): Pairs => [
        [n, '1'],
        [n, '2'],
        [n, ''],
      ],
    ),
  ],
  [
    'all as lists',
    names.flatMap(
      (n): Pairs => [
        [`${n}[]`, '1'],
        [`${n}[]`, '2'],
      ],
    ),
  ],
  [
    'all as objects',
    names.flatMap(
      (n): Pairs => [
        [`${n}[b]`, 'c'],
        [`${n}[0]`, 'd'],
      ],
    ),
  ],
  ['all escaped invalid UTF-8', names.map((n): [string, Buffer] => [n, escapedBytes])],
  ['all NUL and line breaks', names.map((n): [string, string] => [n, '\u0000\r\n\u2028\t\u001b'])],
];
// Past an int and a bigint, negative, NUL and a byte that is not UTF-8, a path step.
const hostileParams = ['-1', '2147483648', '99999999999999999999', '%00%FF', '..'];

test('every route, every field: repeated, as a list or object, 100 KB, NUL, invalid UTF-8, multipart', async () => {
  const params = await realParams(ctx.db);
  const login = 'FUZZ';
  const { client, forms } = await logInAndCollectForms(ctx.app, ctx.routes, params, login);
  let sent = 0;
  const fiveHundreds: string[] = [];

  const check = (res: LightMyRequestResponse, what: string) => {
    sent++;
    if (res.statusCode >= 500) fiveHundreds.push(`${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  };
  const query = (pairs: Pairs) => urlencoded(pairs).toString('latin1');
  const send = async (who: TestClient, route: AppRoute, url: string, pairs: Pairs, what: string) => {
    const res =
      route.method === 'GET'
        ? await who.get(`${url}?${query(pairs)}`)
        : await who.request({
            method: route.method as 'POST',
            url,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: urlencoded([['_csrf', who.csrf], ...pairs]),
          });
    check(res, `${route.method} ${route.url} ${what}`);
  };
  const sendMultipart = async (route: AppRoute, url: string, parts: FormPart[], what: string) => {
    const body = multipartBody(parts);
    const res = await client.request({
      method: route.method as 'POST',
      url,
      headers: { 'content-type': body.contentType, 'x-csrf-token': client.csrf },
      payload: body.payload,
    });
    check(res, `${route.method} ${route.url} multipart ${what}`);
  };

  for (const [route, set] of ctx.routes.flatMap((r) => params(r).map((s) => [r, s] as const))) {
    const realUrl = fillPath(route.url, set);
    const baseline = [...fieldsFor(route, realUrl, forms)];
    const names = baseline.length
      ? baseline.map(([name]) => name)
      : route.method === 'GET'
        ? commonQueryFields
        : commonPostFields;
    // logging out would end the session the other routes need; a visitor's session does instead
    const who = route.url === '/logout' ? new (client.constructor as typeof TestClient)(ctx.app) : client;
    if (who !== client) await who.get('/login');

    for (const name of names) {
      const others = baseline.filter(([n]) => n !== name);
      for (const [what, pairs] of fieldVariants(name))
        await send(who, route, realUrl, [...others, ...pairs], `${name} ${what}`);
    }
    for (const [what, pairs] of allFieldsVariants(names)) await send(who, route, realUrl, pairs, what);

    if (route.method !== 'GET') {
      // a query string on a post, raw bytes and repeats; JSON, which no form sends
      check(
        await who.request({
          method: route.method as 'POST',
          url: `${realUrl}?${rawInUrl}=${rawInUrl}&a=1&a=2`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: urlencoded([['_csrf', who.csrf]]),
        }),
        `${route.url} query on a post`,
      );
      const json = Object.fromEntries(names.map((n) => [n, [{ b: 'c' }, ['d']]]));
      check(
        await who.request({
          method: route.method as 'POST',
          url: realUrl,
          headers: { 'content-type': 'application/json', 'x-csrf-token': who.csrf },
          payload: JSON.stringify({ ...json, _csrf: who.csrf }),
        }),
        `${route.url} JSON`,
      );
      // as multipart: every route copes with a body it does not parse; upload routes get each field
      const file: FormPart = {
        name: 'file',
        fileName: 'a\u0000\r\n.txt',
        contentType: 'text/plain\r\nX: 1',
        data: rawBytes,
      };
      await sendMultipart(
        route,
        realUrl,
        [
          ...names.flatMap((n): FormPart[] => [
            { name: n, value: 'a' },
            { name: n, value: 'b' },
          ]),
          file,
        ],
        'all repeated',
      );
      await sendMultipart(
        route,
        realUrl,
        [...names.map((n): FormPart => ({ name: n, value: `${long}\u0000` })), file],
        'all long with NUL',
      );
      if (takesMultipart(route, forms)) {
        for (const name of names) {
          const others = baseline.filter(([n]) => n !== name).map(([n, v]): FormPart => ({ name: n, value: v }));
          for (const [what, value] of [
            ['repeated', null],
            ['100 KB', long],
            ['NUL and invalid UTF-8', Buffer.concat([Buffer.from('a\u0000b'), rawBytes])],
          ] as const) {
            const own: FormPart[] =
              value === null
                ? [
                    { name, value: '1' },
                    { name, value: '2' },
                  ]
                : [{ name, value }];
            await sendMultipart(route, realUrl, [...others, ...own, file], `${name} ${what}`);
          }
        }
      }
    } else {
      check(
        await who.get(`${realUrl}?${rawInUrl}=${rawInUrl}&${escapedBytes.toString()}=1`),
        `${route.url} raw bytes in the query`,
      );
    }

    // each path parameter in turn made hostile, the others real
    for (const param of [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1] as string)) {
      for (const hostile of hostileParams) {
        const url = route.url.replace(/:(\w+)/g, (_, name: string) =>
          name === param ? hostile : encodeURIComponent(set[name] ?? '1'),
        );
        await send(who, route, url, baseline, `:${param}=${hostile.slice(0, 12)}`);
      }
    }

    const health = await ctx.app.inject({ method: 'GET', url: '/healthz' });
    assert.is(health.statusCode, 200, `/healthz after ${route.method} ${realUrl}`);
    // a route may have ended the session (the language, a deactivation): carry on logged in
    if ((await client.get('/account')).statusCode !== 200) await client.login(login);
  }
  console.log(`  fuzz requests sent: ${sent} to ${ctx.routes.length} routes`);
  assert.equal(fiveHundreds, [], `no 5xx answers (${fiveHundreds.length})`);
});

test.run();
