import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin, RootOperationNode } from 'kysely';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { registers } from '../admin/registers.ts';
import { createApiToken } from '../api/tokens.ts';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import { saveStructure } from '../approvals/structures.ts';
import { caseTabs } from '../case-page/page.ts';
import type { Db } from '../db/database.ts';
import { loadSecret } from '../db/secrets.ts';
import { seedDemoData } from '../demo/demo-data.ts';
import { addDocumentVersion } from '../documents/documents.ts';
import { storeInlineImage } from '../documents/inline-images.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { buildTestApp, seedUser, TestClient } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedOfficeHours } from '../test-support/seeds.ts';
import { addStaffReply } from '../threads/threads.ts';
import { createWebhook } from '../webhooks/webhooks.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; app: FastifyInstance; writes: string[] };
const test = suite('GET never writes: every GET route, with real data, leaves the database alone');

const pixel = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

// Every statement that changes a row, as SQL. The session store's own table is left out: a
// session is created on a first visit and renewed now and then, which is what sessions are for.
function writeRecorder(db: Db, writes: string[]): KyselyPlugin {
  return {
    transformQuery({ node, queryId }) {
      const { sql } = db.getExecutor().compileQuery(node as RootOperationNode, queryId);
      const statement = sql.replace(/^\s*with\b[\s\S]*?\)\s*(?=insert|update|delete|merge)/i, '');
      if (/^\s*(insert|update|delete|merge|truncate)\b/i.test(statement) && !/"sessions"/.test(sql)) writes.push(sql);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

// The app's GET routes, read from Fastify's own route tree, e.g. "/cases/:number/documents/:id".
function getRoutes(app: FastifyInstance): string[] {
  const lines = app.printRoutes({ method: 'GET', commonPrefix: false }).split('\n');
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of lines) {
    const match = /^([│ ]*)(?:├── |└── )(.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    stack.length = depth;
    stack.push(match[2] as string);
    if (match[3]?.split(', ').includes('GET')) routes.push(stack.join('').replace(/\/\//g, '/'));
  }
  return [...new Set(routes)];
}

const first = async <T>(query: Promise<T | undefined>): Promise<T> => {
  const row = await query;
  assert.ok(row, 'the seed has a row for every sample');
  return row as T;
};

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, writes: [] });
  const { db } = ctx;
  await seedDemoData(db);
  // Secrets are made on first use, once per installation; made here, they are not what is tested.
  for (const name of ['message-id', 'mail-settings']) await loadSecret(db, name);
  const recording = db.withPlugin(writeRecorder(db, ctx.writes));
  ctx.app = await buildTestApp(recording);
});
test.after(async () => {
  await ctx.app.close();
  await ctx.drop();
});

// One URL or more for every GET route, naming rows that exist, so each handler runs in full.
async function sampleUrls(): Promise<Record<string, string[]>> {
  const webhook = await createWebhook(
    ctx.db,
    { url: 'https://hooks.example.com/casedesk', events: ['case.created'], description: '', active: true },
    1,
    [],
  );
  const { db } = ctx;
  const admin = await seedUser(db, 'CHEF', 'admin', { language: 'sv' });
  const kase = await first(db.selectFrom('cases').select(['id', 'number']).orderBy('id').limit(1).executeTakeFirst());
  const reply = await addStaffReply(db, kase.id, { body_html: '<div>Sparat svar</div>', delivery: 'saved' }, admin);
  const document = await first(
    db
      .selectFrom('documents')
      .select(['id', 'case_id'])
      .where('case_id', 'is not', null)
      .where('deleted_at', 'is', null)
      .orderBy('id')
      .executeTakeFirst(),
  );
  const documentCase = await first(
    db
      .selectFrom('cases')
      .select('number')
      .where('id', '=', document.case_id as number)
      .executeTakeFirst(),
  );
  await addDocumentVersion(db, {
    documentId: String(document.id),
    fileName: 'version-2.txt',
    contentType: 'text/plain',
    stream: Buffer.from('version 2'),
    user: admin,
    maxBytes: 1000,
    startApproval: startApprovalIfRequired,
  });
  const image = await storeInlineImage(db, { content: Readable.from([pixel]), user: admin, maxBytes: 1000 });
  const inbound = await storeInboundRaw(db, Buffer.from('Subject: x\r\n\r\nbroken'), { source: 'import' });
  await db
    .updateTable('inbound_messages')
    .set({ status: 'failed', error: 'test' })
    .where('id', '=', inbound.id)
    .execute();
  const mailbox = await db
    .insertInto('mailboxes')
    .values({ name: 'Support', imap_host: '127.0.0.1', imap_user: 'support' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const run = await db
    .insertInto('kontroll_runs')
    .values({ source: 'manual', user_id: admin.id, as_of: new Date(), finished_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  // a finished on-demand Read mail, as its progress page shows it
  const mailRead = await db
    .insertInto('mail_reads')
    .values({ started_by: admin.id, state: 'done', finished_at: new Date(), mailboxes: '[]' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const customer = await first(
    db.selectFrom('contacts').select(['customer_id', 'id']).orderBy('id').limit(1).executeTakeFirst(),
  );
  const customerNumber = await first(
    db.selectFrom('customers').select('number').where('id', '=', customer.customer_id).executeTakeFirst(),
  );
  const project = await db
    .insertInto('projects')
    .values({ number: 'P-T1', name: 'Testprojekt', customer_id: customer.customer_id, created_by: admin.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('work_orders')
    .values({ number: 'AO-T1', name: 'Testorder', project_id: project.id, created_by: admin.id })
    .execute();
  const folder = await first(db.selectFrom('document_folders').select('id').orderBy('id').executeTakeFirst());
  const structure = await saveStructure(db, null, {
    name: 'Chefen',
    active: true,
    steps: [[admin.id]],
    folderIds: [],
  });
  const registerIds = Object.fromEntries(
    await Promise.all(
      registers.map(async (r) => {
        const row = await first(
          db
            .selectFrom(r.table as 'case_types')
            .select('id')
            .orderBy('id')
            .executeTakeFirst(),
        );
        return [r.slug, row.id];
      }),
    ),
  );
  const officeHours = await seedOfficeHours(db);
  const canned = await first(db.selectFrom('canned_replies').select('id').orderBy('id').executeTakeFirst());
  const n = kase.number;
  return {
    '/': ['/'],
    '/*': ['/static/app.css'],
    '/favicon.ico': ['/favicon.ico'],
    '/healthz': ['/healthz'],
    '/login': ['/login', '/login?next=/cases'],
    '/account': ['/account'],
    '/approvals': ['/approvals'],
    '/admin': ['/admin'],
    '/admin/': ['/admin/'],
    '/admin/users': ['/admin/users'],
    '/admin/users/': ['/admin/users/', '/admin/users/?inactive=1'],
    '/admin/users/new': ['/admin/users/new'],
    '/admin/users/:id': [`/admin/users/${admin.id}`],
    '/admin/customers': ['/admin/customers'],
    '/admin/customers/': ['/admin/customers/'],
    '/admin/customers/new': ['/admin/customers/new'],
    '/admin/customers/:id': [`/admin/customers/${customer.customer_id}`],
    '/admin/customers/:id/contacts/:contactId': [`/admin/customers/${customer.customer_id}/contacts/${customer.id}`],
    '/admin/document-categories': ['/admin/document-categories'],
    '/admin/document-categories/': ['/admin/document-categories/'],
    '/admin/document-categories/new': ['/admin/document-categories/new'],
    '/admin/document-categories/:id': [`/admin/document-categories/${folder.id}`],
    '/admin/inbound': ['/admin/inbound'],
    '/admin/inbound/': ['/admin/inbound/'],
    '/admin/inbound/:id/raw': [`/admin/inbound/${inbound.id}/raw`],
    '/admin/possible-loops': ['/admin/possible-loops'],
    '/admin/possible-loops/': ['/admin/possible-loops/'],
    '/admin/mail': ['/admin/mail'],
    '/admin/mailboxes': ['/admin/mailboxes'],
    '/admin/mailboxes/': ['/admin/mailboxes/', '/admin/mailboxes/?inactive=1'],
    '/admin/mailboxes/new': ['/admin/mailboxes/new'],
    '/admin/mailboxes/:id': [`/admin/mailboxes/${mailbox.id}`],
    '/admin/outbox': ['/admin/outbox', '/admin/outbox?status=failed&page=2'],
    '/admin/settings': ['/admin/settings'],
    '/admin/settings/kontroll': ['/admin/settings/kontroll'],
    '/admin/approval-structures': ['/admin/approval-structures'],
    '/admin/approval-structures/': ['/admin/approval-structures/'],
    '/admin/approval-structures/new': ['/admin/approval-structures/new'],
    '/admin/approval-structures/:id': [`/admin/approval-structures/${structure}`],
    '/admin/business-hours': ['/admin/business-hours'],
    '/admin/business-hours/': ['/admin/business-hours/'],
    '/admin/business-hours/new': ['/admin/business-hours/new'],
    '/admin/business-hours/:id': [`/admin/business-hours/${officeHours.calendarId}`],
    '/admin/service-levels': ['/admin/service-levels'],
    '/admin/service-levels/': ['/admin/service-levels/'],
    '/admin/service-levels/new': ['/admin/service-levels/new'],
    '/admin/service-levels/:id': [`/admin/service-levels/${officeHours.policyId}`],
    '/admin/webhooks': ['/admin/webhooks'],
    '/admin/webhooks/': ['/admin/webhooks/'],
    '/admin/webhooks/new': ['/admin/webhooks/new'],
    '/admin/webhooks/:id': [`/admin/webhooks/${webhook.id}`],
    '/admin/:slug': registers.map((r) => `/admin/${r.slug}`),
    '/admin/:slug/new': registers.map((r) => `/admin/${r.slug}/new`),
    '/admin/:slug/:id': registers.map((r) => `/admin/${r.slug}/${registerIds[r.slug]}`),
    '/cases': ['/cases', '/cases?status=all&q=skrivare&sort=number'],
    '/cases/pickers/responsible': ['/cases/pickers/responsible'],
    '/cases/pickers/customers': [`/cases/pickers/customers?customer=${customerNumber.number}`],
    '/cases/pickers/contacts': [`/cases/pickers/contacts?customer=${customerNumber.number}`],
    '/cases/new': ['/cases/new'],
    '/cases/bulk-changes': ['/cases/bulk-changes'],
    '/cases/tiles': ['/cases/tiles', '/cases/tiles?resp=any&kind=waiting'],
    '/cases/:number/row': [`/cases/${n}/row`],
    '/notifications/bell': ['/notifications/bell'],
    // a page's request gets a short 406 (only an EventSource gets the endless stream, which only
    // reads: src/live/live.test.ts shows it over real HTTP)
    '/events': [],
    '/cases/:number/merge': [`/cases/${n}/merge`],
    '/cases/:number/split': [`/cases/${n}/split`],
    '/cases/:number': [`/cases/${n}`],
    '/cases/:number/thread/:entryId/mail': [
      `/cases/${n}/thread/${reply.id}/mail`,
      `/cases/${n}/thread/${reply.id}/mail?to=per%40example.com&cc=&documents=${document.id}`,
    ],
    '/cases/:number/documents/:id': [`/cases/${documentCase.number}/documents/${document.id}`],
    '/cases/:number/work-order': [`/cases/${n}/work-order`],
    '/cases/:number/work-order/projects': [`/cases/${n}/work-order/projects?project_q=Test`],
    '/cases/:number/:tab': caseTabs.map((tab) => `/cases/${n}/${tab.name}`),
    '/cases/:number/presence': [`/cases/${n}/presence`],
    '/canned-replies/:id': [`/canned-replies/${canned.id}`],
    '/customers': ['/customers', '/customers?q=a'],
    '/customers/:id': [`/customers/${customer.customer_id}`],
    '/documents/:id': [`/documents/${document.id}`],
    '/documents/:id/download': [`/documents/${document.id}/download`],
    '/documents/:id/versions/:version': [
      `/documents/${document.id}/versions/1`,
      `/documents/${document.id}/versions/2`,
    ],
    '/uploads/images/:token': [`/uploads/images/${image.token}`],
    '/users/mentionable': ['/users/mentionable?q=a'],
    '/notifications': ['/notifications'],
    '/shortcuts': ['/shortcuts'],
    '/mail/read': ['/mail/read'],
    '/mail/read/runs/:id': [`/mail/read/runs/${mailRead.id}`],
    '/kontroll': ['/kontroll'],
    '/kontroll/runs/:id': [`/kontroll/runs/${run.id}`],
    '/reports': ['/reports', '/reports?period=this_year&resp=any'],
    '/reports/:chart': ['/reports/volume.csv?resp=any', '/reports/kontroll.csv'],
    '/projects': ['/projects'],
    '/projects/new': ['/projects/new'],
    '/projects/:number': ['/projects/P-T1'],
    '/work-orders': ['/work-orders'],
    '/work-orders/new': ['/work-orders/new?project=P-T1'],
    '/work-orders/:number': ['/work-orders/AO-T1'],
    // The REST API (src/api/): a browser's session opens nothing there (401 before any read). With
    // a token, a request counts against its rate limit (api_rate_limits) and marks the token used:
    // writes on purpose, tested in src/api/. The document and the reference are public.
    '/account/tokens': ['/account/tokens'],
    '/api/v1/openapi.json': ['/api/v1/openapi.json'],
    '/api/v1/reference': ['/api/v1/reference'],
    '/api/v1/me': ['/api/v1/me'],
    '/api/v1/users': ['/api/v1/users'],
    '/api/v1/cases': ['/api/v1/cases?responsible=me'],
    '/api/v1/cases/:number': [`/api/v1/cases/${n}`],
    '/api/v1/cases/:number/thread': [`/api/v1/cases/${n}/thread`],
    '/api/v1/cases/:number/discussion': [`/api/v1/cases/${n}/discussion`],
    '/api/v1/cases/:number/documents': [`/api/v1/cases/${documentCase.number}/documents`],
    '/api/v1/documents/:id': [`/api/v1/documents/${document.id}`],
    '/api/v1/documents/:id/content': [`/api/v1/documents/${document.id}/content`],
    '/api/v1/documents/:id/versions/:version/content': [`/api/v1/documents/${document.id}/versions/1/content`],
    '/api/v1/approvals': ['/api/v1/approvals'],
    '/api/v1/projects': ['/api/v1/projects?q=P'],
    '/api/v1/cases/:number/internal-note': [`/api/v1/cases/${n}/internal-note`],
    '/api/v1/customers': ['/api/v1/customers?q=a'],
    '/api/v1/customers/:id': [`/api/v1/customers/${customer.customer_id}`],
    '/api/v1/customers/:id/contacts': [`/api/v1/customers/${customer.customer_id}/contacts`],
  };
}

test('every GET route, as an admin and as a visitor without a session, writes nothing', async () => {
  const samples = await sampleUrls();
  assert.equal(
    getRoutes(ctx.app).sort(),
    Object.keys(samples).sort(),
    'every GET route has a sample here (a new GET route needs one)',
  );
  const admin = new TestClient(ctx.app);
  await admin.login('CHEF');
  const visitor = new TestClient(ctx.app);
  // the API's routes take the admin's token instead of the session
  const chef = await ctx.db.selectFrom('users').selectAll().where('login', '=', 'CHEF').executeTakeFirstOrThrow();
  const { token } = await createApiToken(ctx.db, chef, { name: 'safe methods', access: 'admin', expires_in_days: 7 });
  for (const [route, urls] of Object.entries(samples)) {
    for (const url of urls) {
      for (const [who, client] of [
        ['admin', admin],
        ['visitor', visitor],
      ] as const) {
        ctx.writes.length = 0;
        const bearer: Record<string, string> =
          who === 'admin' && url.startsWith('/api/v1/') ? { authorization: `Bearer ${token}` } : {};
        const response = await client.get(url, { headers: { accept: 'text/html', ...bearer } });
        if (who === 'admin') assert.ok(response.statusCode < 400, `${url} (${route}) answered ${response.statusCode}`);
        // an API request counts against its token's rate limit and marks the token used, on purpose
        const writes = ctx.writes.filter(
          (w) => !/^\s*insert into "?api_rate_limits|^update "api_tokens" set "last_used_at"/.test(w),
        );
        assert.equal(writes, [], `GET ${url} as ${who} wrote`);
      }
    }
  }
});

test.run();
