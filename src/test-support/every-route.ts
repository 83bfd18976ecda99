// Going over every route of the app: the routes as Fastify registered them (so a route added
// later is covered without a list to keep), a database with one of each thing a route's path can
// name, real values for the path parameters, and the fields each route's forms send.
import { Readable } from 'node:stream';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { registers } from '../admin/registers.ts';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import { saveStructure } from '../approvals/structures.ts';
import { linkCases } from '../case-links/case-links.ts';
import { caseTabs } from '../case-page/page.ts';
import { saveView } from '../cases/overview.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { seedDemoData } from '../demo/demo-data.ts';
import { addDocument } from '../documents/documents.ts';
import { storeInlineImage } from '../documents/inline-images.ts';
import { runKontroll } from '../kontroll/kontroll.ts';
import { createMailbox } from '../mail/inbound/mailboxes.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';
import { queueTestMail } from '../mail/outbound/system-mail.ts';
import { notifyUser } from '../notifications/notifications.ts';
import { buildTestApp, seedUser, TestClient, testConfig } from './app.ts';
import { seedOfficeHours } from './seeds.ts';

// public: open without a login (the route's config.public)
export type AppRoute = { method: string; url: string; public: boolean };

// The app with every route it registered (HEAD routes aside: Fastify adds one per GET), and
// those plant adds.
export async function buildAppWithRoutes(
  db: Db,
  plant?: (app: FastifyInstance) => void,
): Promise<{ app: FastifyInstance; routes: AppRoute[] }> {
  const routes: AppRoute[] = [];
  const onRoute = (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, public: Boolean(route.config?.public) });
    }
  };
  const app = await buildTestApp(db, {}, { onRoute, plant });
  return { app, routes };
}

// A tiny PNG, for the inline image.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

// The demo organisation, an administrator (FUZZ) and one of each thing the demo leaves out:
// an approval chain waiting for FUZZ, a mailbox, a failed inbound message, an outbox message,
// a saved view, a notification, a Kontroll run, a finished Read mail, an inline image and a
// business calendar with a closed day and a service level.
export async function seedOneOfEach(db: Db): Promise<{ admin: User; login: string }> {
  const admin = await seedUser(db, 'FUZZ', 'admin');
  await seedDemoData(db);
  const kalle = await db.selectFrom('users').selectAll().where('login', '=', 'KALLE').executeTakeFirstOrThrow();
  const customer = await db.selectFrom('customers').select('id').orderBy('id').executeTakeFirstOrThrow();

  const folder = await db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .where('name', '=', 'Avtal')
    .executeTakeFirstOrThrow();
  const structureId = await saveStructure(db, null, {
    name: 'Avtalsattest',
    active: true,
    steps: [[admin.id]],
    folderIds: [folder.id],
  });
  await addDocument(db, {
    owner: { kind: 'customer', id: customer.id },
    folderId: folder.id,
    fileName: 'avtal.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF-1.4 avtal'),
    user: kalle,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  if (!structureId) throw new Error('no approval structure');

  await createMailbox(db, {
    name: 'Support',
    // nothing listens on port 1: reading it fails at once
    imap_host: '127.0.0.1',
    imap_port: 1,
    imap_security: 'none',
    imap_user: 'support',
    imap_password: 'secret',
    folder: 'INBOX',
    after_read: 'seen',
    move_to_folder: null,
    default_case_type_id: null,
    default_status_id: null,
    default_responsible_id: null,
    default_priority_id: null,
  });
  const inbound = await storeInboundRaw(
    db,
    Buffer.from('From: Per <per@acme.se>\r\nSubject: Trasig\r\nMessage-ID: <trasig@acme.se>\r\n\r\nHej'),
    { source: 'import' },
  );
  await db
    .updateTable('inbound_messages')
    .set({ status: 'failed', error: 'broken', attempts: 1 })
    .where('id', '=', inbound.id)
    .execute();
  await queueTestMail(db, testConfig(), { to: 'fuzz@example.com', actor: admin, language: 'en' });
  await saveView(db, admin.id, 'Mine', '?kind=all');
  const someCase = await db.selectFrom('cases').select(['id', 'number']).orderBy('id').executeTakeFirstOrThrow();
  await notifyUser(
    db,
    {
      userId: admin.id,
      actorId: kalle.id,
      kind: 'assigned',
      caseId: someCase.id,
      summary: someCase.number,
      link: `/cases/${someCase.number}`,
    },
    { config: undefined },
  );
  await runKontroll(db, testConfig(), { actor: admin });
  // a finished Read mail for its progress page (a real one would read the mailbox above)
  await db
    .insertInto('mail_reads')
    .values({ started_by: admin.id, state: 'done', finished_at: new Date(), mailboxes: '[]' })
    .execute();
  await storeInlineImage(db, { content: Readable.from([png]), user: admin, maxBytes: 1_000_000 });
  await seedOfficeHours(db);
  // a link from the case the case routes are tried on to another, for its removal route
  const linked = await caseWithEverything(db);
  const other = await db
    .selectFrom('cases')
    .select('number')
    .where('id', '<>', linked.id)
    .orderBy('id')
    .executeTakeFirst();
  if (other) await linkCases(db, linked.id, other.number, 'related', admin);
  return { admin, login: 'FUZZ' };
}

// The case the case routes are tried on: the first with a staff reply and a discussion post, else
// the first.
async function caseWithEverything(db: Db): Promise<{ id: number; number: string }> {
  const kase = await db
    .selectFrom('cases')
    .select(['id', 'number'])
    .where((eb) =>
      eb.exists(eb.selectFrom('thread_entries').whereRef('case_id', '=', 'cases.id').where('side', '=', 'staff')),
    )
    .where((eb) => eb.exists(eb.selectFrom('discussion_posts').whereRef('case_id', '=', 'cases.id')))
    .orderBy('id')
    .executeTakeFirst();
  return kase ?? (await db.selectFrom('cases').select(['id', 'number']).orderBy('id').executeTakeFirstOrThrow());
}

// Real values for path parameters, by route: the first case with a staff reply, a discussion post
// and a document; the rows seedOneOfEach made; else the row with the lowest id. A route whose
// parameter picks what the page is (a register's :slug, a case's :tab) gets one set per value.
export async function realParams(db: Db): Promise<(route: AppRoute) => Record<string, string>[]> {
  const anyCase = await caseWithEverything(db);
  const first = async <T extends keyof Tables>(table: T, column = 'id') =>
    String(
      (
        (await db
          .selectFrom(table as never)
          .select(column as never)
          .orderBy(column as never)
          .executeTakeFirst()) as Record<string, unknown> | undefined
      )?.[column] ?? '1',
    );
  const value = async (query: Promise<Record<string, unknown> | undefined>, column: string) =>
    String((await query)?.[column] ?? '1');
  const caseDocument = await value(
    db.selectFrom('documents').select('id').where('case_id', '=', anyCase.id).executeTakeFirst(),
    'id',
  );
  const anyCaseDocument = await db
    .selectFrom('documents')
    .select(['id', 'case_id'])
    .where('case_id', 'is not', null)
    .orderBy('id')
    .executeTakeFirst();
  const documentCase = anyCaseDocument
    ? await db
        .selectFrom('cases')
        .select('number')
        .where('id', '=', anyCaseDocument.case_id as number)
        .executeTakeFirst()
    : undefined;
  const kalle = await value(db.selectFrom('users').select('id').where('login', '=', 'KALLE').executeTakeFirst(), 'id');
  const values = {
    number: anyCase.number,
    entryId: await value(
      db
        .selectFrom('thread_entries')
        .select('id')
        .where('case_id', '=', anyCase.id)
        .where('side', '=', 'staff')
        .executeTakeFirst(),
      'id',
    ),
    postId: await value(
      db.selectFrom('discussion_posts').select('id').where('case_id', '=', anyCase.id).executeTakeFirst(),
      'id',
    ),
    caseDocument,
    documentCase: documentCase?.number ?? anyCase.number,
    anyCaseDocument: String(anyCaseDocument?.id ?? caseDocument),
    // not the case document above: deleting that one must leave this one for its own routes
    document: await value(
      db.selectFrom('documents').select('id').where('case_id', 'is not', null).orderBy('id', 'desc').executeTakeFirst(),
      'id',
    ),
    chain: await first('approval_chains'),
    project: await first('projects', 'number'),
    workOrder: await first('work_orders', 'number'),
    customer: await first('customers'),
    contact: await first('contacts'),
    folder: await value(
      db.selectFrom('document_folders').select('id').where('system_key', 'is', null).orderBy('id').executeTakeFirst(),
      'id',
    ),
    mailbox: await first('mailboxes'),
    inbound: await first('inbound_messages'),
    outbox: await first('outbox'),
    structure: await first('approval_structures'),
    notification: await value(
      db
        .selectFrom('notifications')
        .innerJoin('users', 'users.id', 'notifications.user_id')
        .select('notifications.id')
        .where('users.login', '=', 'FUZZ')
        .executeTakeFirst(),
      'id',
    ),
    view: await first('saved_views'),
    run: await first('kontroll_runs'),
    mailRead: await first('mail_reads'),
    canned: await first('canned_replies'),
    image: await first('inline_images', 'token'),
    kalle,
    link: await value(
      db
        .selectFrom('case_links')
        .select('id')
        .where((eb) => eb.or([eb('from_case_id', '=', anyCase.id), eb('to_case_id', '=', anyCase.id)]))
        .executeTakeFirst(),
      'id',
    ),
    calendar: await first('business_calendars'),
    closedDay: await first('business_calendar_closed_days'),
    policy: await first('sla_policies'),
  };
  const registerIds: Record<string, string> = {
    'case-types': await first('case_types'),
    statuses: await first('case_statuses'),
    priorities: await first('priorities'),
    'number-series': await first('number_series'),
    'canned-replies': values.canned,
  };

  const choices: Record<string, string[]> = {
    slug: registers.map((register) => register.slug),
    tab: caseTabs.map((tab) => tab.name),
  };
  return (route) => {
    let sets: Record<string, string>[] = [{}];
    for (const name of [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1] as string)) {
      const values = choices[name] ?? [pick(route.url, name)];
      sets = sets.flatMap((set) => values.map((value) => ({ ...set, [name]: value, ...slugRow(name, value) })));
    }
    return sets;
  };

  // The row a register's :id names depends on the register.
  function slugRow(name: string, slug: string): Record<string, string> {
    return name === 'slug' ? { id: registerIds[slug] ?? '1' } : {};
  }

  function pick(url: string, name: string): string {
    if (name === 'number') {
      if (url.startsWith('/projects/')) return values.project;
      if (url.startsWith('/work-orders/')) return values.workOrder;
      if (url.startsWith('/cases/:number/documents/:id')) return values.documentCase;
      return values.number;
    }
    if (name === 'entryId') return values.entryId;
    if (name === 'postId') return values.postId;
    if (name === 'linkId') return values.link;
    if (name === 'chainId') return values.chain;
    if (name === 'contactId') return values.contact;
    if (name === 'token') return values.image;
    if (name === 'version') return '1';
    if (name === 'dayId') return values.closedDay;
    if (name === 'chart') return 'volume.csv';
    const byPrefix: [string, string][] = [
      ['/cases/:number/documents/', values.anyCaseDocument],
      ['/cases/views/', values.view],
      ['/documents/', values.document],
      ['/admin/users/', values.kalle],
      ['/admin/customers/', values.customer],
      ['/customers/', values.customer],
      ['/admin/document-categories/', values.folder],
      ['/admin/mailboxes/', values.mailbox],
      ['/admin/inbound/', values.inbound],
      ['/admin/outbox/', values.outbox],
      ['/admin/approval-structures/', values.structure],
      ['/notifications/', values.notification],
      ['/kontroll/runs/', values.run],
      ['/mail/read/runs/', values.mailRead],
      ['/canned-replies/', values.canned],
      ['/admin/business-hours/', values.calendar],
      ['/admin/service-levels/', values.policy],
    ];
    return byPrefix.find(([prefix]) => url.startsWith(prefix))?.[1] ?? '1';
  }
}

type Tables = import('../db/schema.ts').Database;

export function fillPath(url: string, params: Record<string, string>): string {
  return url.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? '1')).replace(/\*$/, 'app.css');
}

// The fields a page's forms and htmx controls send, by the path they send them to, with the
// value each would send first (what a user who changes nothing submits). MULTIPART lists the
// paths whose forms are sent as multipart/form-data.
export type FormFields = Map<string, Map<string, string>>;
export const multipartPaths = '#multipart';

const attribute = (tag: string, name: string) =>
  new RegExp(`\\s${name}="([^"]*)"`, 'i')
    .exec(tag)?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

export function collectFormFields(html: string, into: FormFields): void {
  const add = (action: string | undefined, name: string | undefined, value: string | undefined) => {
    if (!action || !name || name === '_csrf') return;
    const path = action.split('?')[0] as string;
    const fields = into.get(path) ?? new Map<string, string>();
    if (!fields.has(name)) fields.set(name, value ?? '');
    into.set(path, fields);
  };
  const formsById = new Map<string, string>();
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const open = form[1] ?? '';
    const action = attribute(open, 'action') ?? attribute(open, 'hx-post') ?? attribute(open, 'hx-get');
    const id = attribute(open, 'id');
    if (id && action) formsById.set(id, action);
    if (action && attribute(open, 'enctype') === 'multipart/form-data') {
      const paths = into.get(multipartPaths) ?? new Map<string, string>();
      into.set(multipartPaths, paths.set(action.split('?')[0] as string, ''));
    }
    for (const control of (form[2] ?? '').matchAll(/<(input|select|textarea|button)\b([^>]*)>/gi)) {
      const tag = control[2] ?? '';
      if (control[1]?.toLowerCase() === 'button' && !attribute(tag, 'name')) continue;
      add(action, attribute(tag, 'name'), controlValue(control[1] ?? '', tag, form[2] ?? '', control.index ?? 0));
    }
  }
  // Controls outside their form (form="id") and htmx controls with their own URL and hx-vals.
  for (const control of html.matchAll(/<(input|select|textarea|button|a)\b([^>]*)>/gi)) {
    const tag = control[2] ?? '';
    const owner = attribute(tag, 'form');
    if (owner && formsById.has(owner)) add(formsById.get(owner), attribute(tag, 'name'), attribute(tag, 'value'));
    const url = attribute(tag, 'hx-post') ?? attribute(tag, 'hx-get');
    if (!url) continue;
    add(url, attribute(tag, 'name'), attribute(tag, 'value') ?? '');
    const vals = attribute(tag, 'hx-vals');
    if (vals) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(vals) as Record<string, unknown>)) add(url, k, String(v));
      } catch {}
    }
  }
}

function controlValue(kind: string, tag: string, body: string, at: number): string {
  if (kind.toLowerCase() === 'select') {
    const options = body.slice(at, body.indexOf('</select>', at));
    const chosen = /<option\b[^>]*\sselected[^>]*>/i.exec(options)?.[0] ?? /<option\b[^>]*>/i.exec(options)?.[0] ?? '';
    return attribute(chosen, 'value') ?? '';
  }
  if (kind.toLowerCase() === 'textarea') {
    const end = body.indexOf('</textarea>', at);
    return body
      .slice(body.indexOf('>', at) + 1, end)
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  }
  const type = attribute(tag, 'type');
  if (type === 'checkbox') return attribute(tag, 'value') ?? 'on';
  return attribute(tag, 'value') ?? '';
}

// The fields sent to a route: what the pages' forms send to its path, or failing that to any
// path matching its pattern.
export function fieldsFor(route: AppRoute, path: string, forms: FormFields): Map<string, string> {
  const exact = forms.get(path);
  if (exact) return exact;
  const pattern = routePattern(route);
  const fields = new Map<string, string>();
  for (const [formPath, found] of forms) {
    if (formPath === multipartPaths || !pattern.test(formPath)) continue;
    for (const [name, value] of found) if (!fields.has(name)) fields.set(name, value);
  }
  return fields;
}

const routePattern = (route: AppRoute) => new RegExp(`^${route.url.replace(/:\w+/g, '[^/]+')}$`);

// Whether a page's form posts to the route as multipart/form-data.
export function takesMultipart(route: AppRoute, forms: FormFields): boolean {
  const pattern = routePattern(route);
  return [...(forms.get(multipartPaths)?.keys() ?? [])].some((path) => pattern.test(path));
}

// Logs in as the seeded administrator and visits every GET route once (with real parameters, as
// a page and as an htmx fragment) to learn the fields of every form.
export async function logInAndCollectForms(
  app: FastifyInstance,
  routes: AppRoute[],
  params: (route: AppRoute) => Record<string, string>[],
  login: string,
): Promise<{ client: TestClient; forms: FormFields }> {
  const client = new TestClient(app);
  await client.login(login);
  const forms: FormFields = new Map();
  for (const route of routes.filter((r) => r.method === 'GET')) {
    for (const set of params(route)) {
      for (const htmx of [false, true]) {
        const res = await client.get(fillPath(route.url, set), { htmx });
        if (res.statusCode === 200 && String(res.headers['content-type']).includes('html')) {
          collectFormFields(res.body, forms);
        }
      }
    }
  }
  return { client, forms };
}

// A urlencoded body from name/value pairs in order (a name may come more than once); a Buffer
// value goes in as raw bytes, as a broken client would send it.
export function urlencoded(pairs: [string, string | Buffer][]): Buffer {
  const parts = pairs.map(([name, value]) =>
    Buffer.concat([
      Buffer.from(`${encodeURIComponent(name)}=`),
      typeof value === 'string' ? Buffer.from(encodeURIComponent(value)) : value,
    ]),
  );
  return Buffer.concat(parts.flatMap((part, i) => (i ? [Buffer.from('&'), part] : [part])));
}
