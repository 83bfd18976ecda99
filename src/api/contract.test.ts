import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { User } from '../db/schema.ts';
import {
  type ApiFixtures,
  type ApiRoute,
  buildApiFixtures,
  callApi,
  routeKey,
  sampleFor,
} from '../test-support/api-samples.ts';
import { seedUser } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { setUserActive } from '../users/users.ts';
import { createApiToken, revokeApiToken } from './tokens.ts';

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
};

const ctx = {} as { f: ApiFixtures; drop: () => Promise<void>; doc: Doc };
const publicRoutes = new Set(['GET /api/v1/openapi.json', 'GET /api/v1/reference']);
const docPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

const test = suite('REST API contract: every route is documented, and answers as its document says');

test.before(async () => {
  const t = await createTestDatabase();
  ctx.drop = t.drop;
  ctx.f = await buildApiFixtures(t.db);
  ctx.doc = (await ctx.f.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
});
test.after(async () => {
  await ctx.f.app.close();
  await ctx.drop();
});

const documented = (route: ApiRoute) => ctx.doc.paths[docPath(route.url)]?.[route.method.toLowerCase()];

test('every route has a sample, and every route but the document and its page is in the document', () => {
  const { routes } = ctx.f;
  assert.ok(routes.length >= 16, `${routes.length} routes`);
  for (const route of routes) {
    if (publicRoutes.has(routeKey(route))) continue;
    assert.ok(documented(route), `${routeKey(route)} is in openapi.json`);
  }
  const inDoc = Object.entries(ctx.doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
  );
  const routeKeys = new Set(ctx.f.routes.map((r) => `${r.method} ${docPath(r.url)}`));
  for (const op of inDoc) assert.ok(routeKeys.has(op), `${op} in the document is a route`);
});

test('each route answers its sample with a documented status and a body its schema allows; errors too', async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validate = (schema: object, body: unknown) => {
    const check = ajv.compile({ ...schema, components: ctx.doc.components });
    return check(body) ? null : ajv.errorsText(check.errors);
  };
  for (const route of ctx.f.routes) {
    const key = routeKey(route);
    const sample = await sampleFor(ctx.f, route);
    assert.ok(sample, `${key} has a sample in src/test-support/api-samples.ts`);
    if (!sample || publicRoutes.has(key)) continue;
    const op = documented(route);
    for (const [token, what] of [
      [ctx.f.tokens.admin, 'with an admin token'],
      [null, 'without a token'],
    ] as const) {
      const res = await callApi(ctx.f, route, (await sampleFor(ctx.f, route)) ?? sample, token);
      const response = op?.responses[String(res.statusCode)];
      assert.ok(response, `${key} ${what}: ${res.statusCode} is documented (${res.body.slice(0, 200)})`);
      if (token) assert.ok(res.statusCode < 300, `${key} ${what} succeeds: ${res.body.slice(0, 300)}`);
      const type = String(res.headers['content-type']).split(';')[0] as string;
      const media = response?.content?.[type] ?? response?.content?.['*/*'];
      assert.ok(media, `${key} ${what}: ${type} is the documented type for ${res.statusCode}`);
      if (media && type.endsWith('json'))
        assert.is(validate(media.schema, res.json()), null, `${key} ${what}: the body fits the schema`);
    }
  }
});

test.run();

// Who may do what: every route for each kind of caller, with no hole.
const matrix = suite('REST API authorisation matrix: every route for every kind of caller');

type Caller = { name: string; token: () => string | null; may: (route: ApiRoute) => boolean };
const callers = {} as Record<string, string | null>;
let leaver: User;

matrix.before(async () => {
  const { f } = ctx;
  const t = await createTestDatabase();
  ctx.drop = t.drop;
  ctx.f = await buildApiFixtures(t.db);
  const db = ctx.f.db;
  leaver = await seedUser(db, 'LEAVER');
  callers.deactivated = (await createApiToken(db, leaver, { name: 'x', access: 'write', expires_in_days: 30 })).token;
  await setUserActive(db, leaver.id, false, undefined, ctx.f.admin.id);
  callers.expired = (
    await createApiToken(
      db,
      ctx.f.agent,
      { name: 'x', access: 'write', expires_in_days: 7 },
      new Date(Date.now() - 8 * 86_400_000),
    )
  ).token;
  const revoked = await createApiToken(db, ctx.f.agent, { name: 'x', access: 'write', expires_in_days: 30 });
  await revokeApiToken(db, ctx.f.agent.id, revoked.id);
  callers.revoked = revoked.token;
  void f;
});
matrix.after(async () => {
  await ctx.f.app.close();
  await ctx.drop();
});

const isRead = (route: ApiRoute) => route.method === 'GET';
const isAdminRoute = (route: ApiRoute) => route.url.startsWith('/api/v1/customers') && route.method !== 'GET';

// Rows of every table a route could write, summed: a refused request must leave it as it was.
async function rowCount(): Promise<number> {
  const r = await sql<{ n: string }>`
    select (select count(*) from cases) + (select count(*) from thread_entries) + (select count(*) from customers)
         + (select count(*) from contacts) + (select sum(version) from cases) + (select count(*) from outbox)
         + (select count(*) from discussion_posts) + (select sum(internal_note_version) from cases)
         + (select count(*) from work_orders) + (select count(*) from documents) + (select count(*) from document_versions)
         + (select count(*) from approval_decisions) + (select count(*) from projects)
         + (select coalesce(sum(extract(epoch from updated_at)), 0) from contacts) as n`.execute(ctx.f.db);
  return Number(r.rows[0]?.n);
}

matrix('each caller gets what it may, and a refusal changes nothing', async () => {
  const f = ctx.f;
  const list: Caller[] = [
    { name: 'admin token', token: () => f.tokens.admin, may: () => true },
    { name: "agent's write token", token: () => f.tokens.agent, may: (r) => !isAdminRoute(r) },
    { name: "agent's read token", token: () => f.tokens.read, may: isRead },
    { name: "deactivated user's token", token: () => callers.deactivated ?? null, may: () => false },
    { name: 'expired token', token: () => callers.expired ?? null, may: () => false },
    { name: 'revoked token', token: () => callers.revoked ?? null, may: () => false },
    { name: 'no token', token: () => null, may: () => false },
    { name: 'a made-up token', token: () => `cdp_${'x'.repeat(43)}`, may: () => false },
  ];
  const holes: string[] = [];
  for (const route of f.routes) {
    const key = routeKey(route);
    if (publicRoutes.has(key)) continue;
    for (const caller of list) {
      const sample = await sampleFor(f, route);
      if (!sample) throw new Error(`${key} has no sample`);
      const before = await rowCount();
      const res = await callApi(f, route, sample, caller.token());
      const allowed = caller.may(route);
      const authenticated = ['admin token', "agent's write token", "agent's read token"].includes(caller.name);
      const expected = allowed ? '2xx' : authenticated ? '403' : '401';
      const got = res.statusCode < 300 ? '2xx' : String(res.statusCode);
      if (got !== expected)
        holes.push(`${key} as ${caller.name}: ${got}, expected ${expected} (${res.body.slice(0, 120)})`);
      if (!allowed && (await rowCount()) !== before) holes.push(`${key} as ${caller.name} changed rows`);
    }
  }
  assert.equal(holes, []);
});

matrix.run();
