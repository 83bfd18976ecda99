import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import type { WorkOrderStatus } from '../db/schema.ts';
import { parseId, queryText } from '../forms/form.ts';
import { excerptOf } from '../rich-text/excerpt.ts';
import { isWorkOrderStatus } from './lifecycle.ts';

export const perPage = 50;
const openStatuses: WorkOrderStatus[] = ['planned', 'in_progress'];

// A search term as a literal inside LIKE: its own %, _ and \ match only themselves.
const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
const text = (v: unknown, max = 100) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
const positiveInt = parseId;
const pageOf = (v: unknown) => Math.min(positiveInt(v) ?? 1, 100_000);

// ── Projects ─────────────────────────────────────────────────────────────────────────────────

// The project list's filter, all in the URL. Lenient: an odd value falls back to the default.
export type ProjectFilter = { q: string; customer: string; active: 'active' | 'inactive' | 'all'; page: number };

// The lists' query strings: each field once, as text (parseQuery); unknown fields go.
export const projectQuerySchema = z.object({ q: queryText, customer: queryText, active: queryText, page: queryText });
export const workOrderQuerySchema = z.object({
  q: queryText,
  status: queryText,
  resp: queryText,
  project: queryText,
  page: queryText,
});

export function parseProjectFilter(query: Record<string, unknown>): ProjectFilter {
  const active = query.active === 'inactive' || query.active === 'all' ? query.active : 'active';
  return { q: text(query.q), customer: text(query.customer, 32), active, page: pageOf(query.page) };
}

export function projectFilterQuery(f: ProjectFilter, page = f.page): string {
  const params = new URLSearchParams();
  if (f.q) params.set('q', f.q);
  if (f.customer) params.set('customer', f.customer);
  if (f.active !== 'active') params.set('active', f.active);
  if (page > 1) params.set('page', String(page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function projectRows(db: Db) {
  return db
    .selectFrom('projects as p')
    .leftJoin('customers as cu', 'cu.id', 'p.customer_id')
    .leftJoin('users as r', 'r.id', 'p.responsible_id')
    .select([
      'p.id',
      'p.number',
      'p.name',
      'p.customer_id',
      'p.responsible_id',
      'p.active',
      'p.version',
      'cu.number as customer_number',
      'cu.name as customer_name',
      'r.name as responsible_name',
    ]);
}

export async function listProjects(db: Db, f: ProjectFilter) {
  let query = projectRows(db).select((eb) =>
    eb
      .selectFrom('work_orders as w')
      .select(eb.fn.countAll<number>().as('n'))
      .whereRef('w.project_id', '=', 'p.id')
      .where('w.status', 'in', openStatuses)
      .as('open_work_orders'),
  );
  if (f.active !== 'all') query = query.where('p.active', '=', f.active === 'active');
  if (f.customer) query = query.where(sql<boolean>`lower(cu.number) = lower(${f.customer})`);
  if (f.q) {
    const like = `%${likeLiteral(f.q.toLowerCase())}%`;
    query = query.where((eb) =>
      eb.or([eb(eb.fn('lower', ['p.number']), 'like', like), eb(eb.fn('lower', ['p.name']), 'like', like)]),
    );
  }
  const rows = await query
    .orderBy('p.number')
    .limit(perPage + 1)
    .offset((f.page - 1) * perPage)
    .execute();
  return { projects: rows.slice(0, perPage), hasMore: rows.length > perPage };
}

export async function findProjectByNumber(db: Db, number: string) {
  return projectRows(db).where('p.number', '=', number).executeTakeFirst();
}
export type ProjectView = NonNullable<Awaited<ReturnType<typeof findProjectByNumber>>>;

// The project picker of "Create work order": the case customer's active projects first, then the
// others, narrowed by a typed number or name.
export async function listProjectChoices(db: Db, customerId: number | null, q = '', limit = 100) {
  let query = db
    .selectFrom('projects as p')
    .leftJoin('customers as cu', 'cu.id', 'p.customer_id')
    .select(['p.id', 'p.number', 'p.name', 'p.customer_id', 'cu.name as customer_name'])
    .where('p.active', '=', true);
  const typed = q.trim();
  if (typed) {
    const like = `%${likeLiteral(typed.toLowerCase())}%`;
    query = query.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['p.number']), 'like', like),
        eb(eb.fn('lower', ['p.name']), 'like', like),
        eb(eb.fn('lower', ['cu.name']), 'like', like),
      ]),
    );
  }
  const rows = await query
    .orderBy(sql`p.customer_id is not distinct from ${customerId}`, 'desc')
    .orderBy('p.number')
    .limit(limit)
    .execute();
  return {
    customerProjects: customerId ? rows.filter((p) => p.customer_id === customerId) : [],
    otherProjects: customerId ? rows.filter((p) => p.customer_id !== customerId) : rows,
  };
}
export type ProjectChoices = Awaited<ReturnType<typeof listProjectChoices>>;

// For the work order form: active projects, plus the one the work order is on even if inactive.
export async function listProjectOptions(db: Db, keepId: number | null = null) {
  return db
    .selectFrom('projects')
    .select(['id', 'number', 'name'])
    .where((eb) => (keepId ? eb.or([eb('active', '=', true), eb('id', '=', keepId)]) : eb('active', '=', true)))
    .orderBy('number')
    .execute();
}

// ── Work orders ──────────────────────────────────────────────────────────────────────────────

export type WorkOrderFilter = {
  q: string;
  // 'open' = planned or in progress, the default: the work still to do
  status: 'open' | 'all' | WorkOrderStatus;
  resp: number | null;
  project: string;
  page: number;
};

export function parseWorkOrderFilter(query: Record<string, unknown>): WorkOrderFilter {
  const status = query.status === 'all' || isWorkOrderStatus(query.status) ? query.status : 'open';
  return {
    q: text(query.q),
    status,
    resp: positiveInt(query.resp),
    project: text(query.project, 32),
    page: pageOf(query.page),
  };
}

export function workOrderFilterQuery(f: WorkOrderFilter, page = f.page): string {
  const params = new URLSearchParams();
  if (f.q) params.set('q', f.q);
  if (f.status !== 'open') params.set('status', f.status);
  if (f.resp) params.set('resp', String(f.resp));
  if (f.project) params.set('project', f.project);
  if (page > 1) params.set('page', String(page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function workOrderRows(db: Db) {
  return db
    .selectFrom('work_orders as w')
    .innerJoin('projects as p', 'p.id', 'w.project_id')
    .leftJoin('customers as cu', 'cu.id', 'p.customer_id')
    .leftJoin('users as r', 'r.id', 'w.responsible_id')
    .leftJoin('cases as c', 'c.id', 'w.case_id')
    .select([
      'w.id',
      'w.number',
      'w.name',
      'w.status',
      'w.project_id',
      'w.responsible_id',
      'w.case_id',
      'w.version',
      'w.updated_at',
      'p.number as project_number',
      'p.name as project_name',
      'cu.name as customer_name',
      'r.name as responsible_name',
      'c.number as case_number',
      'c.title as case_title',
    ]);
}

export async function listWorkOrders(db: Db, f: WorkOrderFilter) {
  let query = workOrderRows(db);
  if (f.status === 'open') query = query.where('w.status', 'in', openStatuses);
  else if (f.status !== 'all') query = query.where('w.status', '=', f.status);
  if (f.resp) query = query.where('w.responsible_id', '=', f.resp);
  if (f.project) query = query.where(sql<boolean>`lower(p.number) = lower(${f.project})`);
  if (f.q) {
    const like = `%${likeLiteral(f.q.toLowerCase())}%`;
    query = query.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['w.number']), 'like', like),
        eb(eb.fn('lower', ['w.name']), 'like', like),
        eb(eb.fn('lower', ['p.name']), 'like', like),
        eb(eb.fn('lower', ['c.number']), 'like', like),
      ]),
    );
  }
  const rows = await query
    .orderBy('w.id', 'desc')
    .limit(perPage + 1)
    .offset((f.page - 1) * perPage)
    .execute();
  return { workOrders: rows.slice(0, perPage), hasMore: rows.length > perPage };
}

export async function listProjectWorkOrders(db: Db, projectId: number) {
  return workOrderRows(db).where('w.project_id', '=', projectId).orderBy('w.id', 'desc').limit(200).execute();
}

export async function findWorkOrderByNumber(db: Db, number: string) {
  return workOrderRows(db)
    .select(['w.description_html', 'w.created_at', 'c.customer_id as case_customer_id'])
    .where('w.number', '=', number)
    .executeTakeFirst();
}
export type WorkOrderView = NonNullable<Awaited<ReturnType<typeof findWorkOrderByNumber>>>;

const summaryLength = 240;

// The work order page's view of its case: the last few thread entries as plain text, newest first.
export async function listThreadSummary(db: Db, caseId: number, limit = 3) {
  const rows = await db
    .selectFrom('thread_entries')
    .select(['id', 'side', 'author_name', 'body_html', 'created_at'])
    .where('case_id', '=', caseId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    side: r.side,
    author_name: r.author_name,
    created_at: r.created_at,
    text: excerptOf(r.body_html, summaryLength),
  }));
}
