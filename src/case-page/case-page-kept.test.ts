import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { linkCases } from '../case-links/case-links.ts';
import { createDb, type Db } from '../db/database.ts';
import type { Case, User } from '../db/schema.ts';
import { addDiscussionPost } from '../discussions/discussions.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase, untilChangeFeedListens } from '../test-support/database.ts';
import { postMultipart } from '../test-support/multipart.ts';
import { seedAcme, seedPrinterJamCase } from '../test-support/seeds.ts';
import { recordingStatements, tablesNamedIn } from '../test-support/statements.ts';
import { addStaffReply } from '../threads/threads.ts';
import { casePageTables, caseTabs } from './page.ts';

// What the case page shows is kept in the process between loads (loadCaseForPage, renderCasePage).
// It must still be exactly what is stored the moment the page is asked for, and that holds only if
// casePageTables names every table the page reads: the first test reads the statements of every
// tab's page and checks them against the list.
const ctx = {} as {
  db: Db;
  other: Db;
  drop: () => Promise<void>;
  app: FastifyInstance;
  kalle: TestClient;
  kalleUser: User;
  kase: Case;
};
const test = suite('The kept case page: never older than the last committed change');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop });
  // another instance: its own pool on the same database
  ctx.other = createDb(t.url, 2);
  ctx.app = await buildTestApp(t.db);
  ctx.kalleUser = await seedUser(t.db, 'KALLE', 'agent');
  const { customer, contact } = await seedAcme(t.db);
  ctx.kase = await seedPrinterJamCase(t.db, ctx.kalleUser, customer.id, contact.id);
  ctx.kalle = new TestClient(ctx.app);
  await ctx.kalle.login('kalle');
  await untilChangeFeedListens(t.db);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.other.destroy();
  await ctx.drop();
});

const page = async (tab = '') => {
  const res = await ctx.kalle.get(`/cases/${ctx.kase.number}${tab ? `/${tab}` : ''}`);
  assert.is(res.statusCode, 200, res.body);
  return res.body;
};

test('every table a tab of the case page reads is one whose changes drop the kept page', async () => {
  // The same app on a database handle that records each statement: nothing is kept through it,
  // so every load runs all of its statements.
  const recording = recordingStatements(ctx.db);
  const statements = recording.statements;
  const app = await buildTestApp(recording.db);
  try {
    const client = new TestClient(app);
    await client.login('kalle');
    const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables
      where table_schema = 'public'`.execute(ctx.db);
    const tables = new Set(rows.map((r) => r.name));
    // kept by their own reads (src/db/cached.ts: sessions, the session's user, register lists) or
    // read for the service-level badge, which is worked out anew on each page
    const keptElsewhere = new Set(['sessions', 'sla_policies', 'business_calendars', 'business_calendar_closed_days']);
    for (const tab of caseTabs) {
      statements.length = 0;
      const res = await client.get(`/cases/${ctx.kase.number}/${tab.name}`);
      assert.is(res.statusCode, 200, `${tab.name}: ${res.body}`);
      assert.ok(statements.length > 0, `${tab.name}: the page's statements were recorded`);
      const read = new Set(statements.flatMap(tablesNamedIn));
      for (const table of read) {
        if (!tables.has(table) || keptElsewhere.has(table)) continue;
        assert.ok(casePageTables.includes(table), `the ${tab.name} tab reads ${table}, which casePageTables lacks`);
      }
    }
  } finally {
    await app.close();
  }
});

test('a reply another instance adds shows on the very next load of the thread, every time', async () => {
  for (let round = 1; round <= 15; round++) {
    await page();
    await addStaffReply(
      ctx.other,
      ctx.kase.id,
      { body_html: `<div>Svar nummer ${round} från en annan instans</div>`, delivery: 'saved' },
      ctx.kalleUser,
    );
    assert.match(await page(), `Svar nummer ${round} från en annan instans`, `round ${round}`);
  }
});

test('a discussion post and a title written elsewhere show at once on their tabs', async () => {
  await page('discussion');
  await addDiscussionPost(ctx.other, ctx.kase.id, '<div>Intern fråga från ANNA</div>', ctx.kalleUser);
  assert.match(await page('discussion'), 'Intern fråga från ANNA');
  await page('history');
  await sql`update cases set title = 'Ny rubrik från SQL', version = version + 1 where id = ${ctx.kase.id}`.execute(
    ctx.other,
  );
  assert.match(await page('history'), 'Ny rubrik från SQL');
});

test('a link to the case added on another instance shows under Linked cases on the very next load', async () => {
  await page();
  const other = await seedPrinterJamCase(ctx.db, ctx.kalleUser, ctx.kase.customer_id as number, undefined, {
    title: 'Länkat från en annan instans',
  });
  await page();
  const linked = await linkCases(ctx.other, other.id, ctx.kase.number, 'parent', ctx.kalleUser);
  assert.ok(linked.ok);
  assert.match(await page(), 'Länkat från en annan instans');
  // a change of case_links alone (no history line with it): its own notification drops the page
  await sql`update case_links set kind = 'related' where id = ${linked.ok ? linked.linkId : 0}`.execute(ctx.other);
  assert.match(
    await page(),
    /Relaterat:<\/span>\s*<a href="[^"]+"><span class="case-number">[^<]+<\/span> Länkat från/,
  );
});

test('a file uploaded on the Documents tab is listed in the answer to the upload itself', async () => {
  // the tab is kept; the upload writes and answers with the tab in the same request, before this
  // process has heard of its own write
  const tab = await ctx.kalle.get(`/cases/${ctx.kase.number}/documents`, { htmx: true });
  assert.not.match(tab.body, 'bifogad-rapport.txt');
  const folder = await ctx.db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .orderBy('position')
    .executeTakeFirstOrThrow();
  const res = await postMultipart(
    ctx.kalle,
    `/cases/${ctx.kase.number}/documents`,
    [
      { name: 'folder_id', value: String(folder.id) },
      { name: 'files', fileName: 'bifogad-rapport.txt', contentType: 'text/plain', data: 'rad 1\n' },
    ],
    { csrf: 'header', htmx: true },
  );
  assert.is(res.statusCode, 200, res.body);
  assert.match(res.body, 'bifogad-rapport.txt');
});

test.run();
