import type { FastifyInstance, InjectOptions, RouteOptions } from 'fastify';
import { createApiToken } from '../api/tokens.ts';
import { startApprovalIfRequired } from '../approvals/chains.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { addCaseDocument } from '../documents/documents.ts';
import { createProject } from '../work-orders/projects.ts';
import { buildTestApp, seedUser } from './app.ts';
import { seedApprovalFolder, submitForApproval } from './approvals.ts';
import { seedAcme, seedPrinterJamCase } from './seeds.ts';

// Every route of the REST API with a request that should succeed, for the tests that go over all
// of them (contract, authorisation matrix, fuzz). A new API route needs a sample here: those
// tests fail on a route without one.

export type ApiRoute = { method: string; url: string };
export type ApiSample = { url: string; payload?: unknown; headers?: Record<string, string> };
export const routeKey = (r: ApiRoute) => `${r.method} ${r.url}`;

export type ApiFixtures = {
  db: Db;
  app: FastifyInstance;
  routes: ApiRoute[];
  admin: User;
  agent: User;
  customerId: number;
  contactId: number;
  caseNumber: string;
  projectId: number;
  documentId: string;
  approvalFolderId: number;
  tokens: { admin: string; agent: string; read: string };
};

export async function buildApiFixtures(db: Db, env: Record<string, string> = {}): Promise<ApiFixtures> {
  const routes: ApiRoute[] = [];
  const onRoute = (route: RouteOptions) => {
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    for (const method of methods) if (route.url.startsWith('/api/v1')) routes.push({ method, url: route.url });
  };
  const app = await buildTestApp(db, env, { onRoute });
  const admin = await seedUser(db, 'APIADMIN', 'admin', { language: 'en' });
  const agent = await seedUser(db, 'APIAGENT', 'agent', { language: 'en' });
  const { customer, contact } = await seedAcme(db);
  const kase = await seedPrinterJamCase(db, agent, customer.id, contact.id);
  const project = await createProject(
    db,
    { number: 'P-API', name: 'API-projekt', customer_id: null, responsible_id: null, active: true },
    admin,
  );
  const document = await addCaseDocument(db, {
    caseId: kase.id,
    folderId: (
      await db
        .selectFrom('document_folders')
        .select('id')
        .where('system_key', 'is', null)
        .where('approval_structure_id', 'is', null)
        .orderBy('position')
        .executeTakeFirstOrThrow()
    ).id,
    fileName: 'offert.pdf',
    contentType: 'application/pdf',
    stream: Buffer.from('%PDF offert'),
    user: agent,
    maxBytes: 1_000_000,
    startApproval: startApprovalIfRequired,
  });
  // a folder whose documents the admin or the agent approves, in one step
  const approvalFolderId = await seedApprovalFolder(db, [admin.id, agent.id]);
  const token = async (user: User, access: 'read' | 'write' | 'admin') =>
    (await createApiToken(db, user, { name: `${user.login} ${access}`, access, expires_in_days: 30 })).token;
  return {
    db,
    app,
    routes,
    admin,
    agent,
    customerId: customer.id,
    contactId: contact.id,
    caseNumber: kase.number,
    projectId: project.id,
    documentId: String(document.id),
    approvalFolderId,
    tokens: {
      admin: await token(admin, 'admin'),
      agent: await token(agent, 'write'),
      read: await token(agent, 'read'),
    },
  };
}

let counter = 0;
// A fresh sample each call: creating routes make a new row each time (a new customer number).
export async function sampleFor(f: ApiFixtures, route: ApiRoute): Promise<ApiSample | undefined> {
  const n = ++counter;
  const version = async () =>
    String(
      (await f.db.selectFrom('cases').select('version').where('number', '=', f.caseNumber).executeTakeFirstOrThrow())
        .version,
    );
  const c = f.caseNumber;
  const samples: Record<string, () => Promise<ApiSample> | ApiSample> = {
    'GET /api/v1/openapi.json': () => ({ url: '/api/v1/openapi.json' }),
    'GET /api/v1/reference': () => ({ url: '/api/v1/reference' }),
    'GET /api/v1/me': () => ({ url: '/api/v1/me' }),
    'GET /api/v1/users': () => ({ url: '/api/v1/users' }),
    'GET /api/v1/cases': () => ({ url: '/api/v1/cases?responsible=any&status=all&limit=5' }),
    'POST /api/v1/cases': () => ({
      url: '/api/v1/cases',
      payload: { title: `Ärende ${n}`, customer_id: f.customerId, body_text: 'Hej' },
    }),
    'GET /api/v1/cases/:number': () => ({ url: `/api/v1/cases/${c}` }),
    'PATCH /api/v1/cases/:number': async () => ({
      url: `/api/v1/cases/${c}`,
      payload: { title: `Skrivaren ${n}` },
      headers: { 'if-match': `"${await version()}"` },
    }),
    'GET /api/v1/cases/:number/thread': () => ({ url: `/api/v1/cases/${c}/thread` }),
    'POST /api/v1/cases/:number/thread': () => ({
      url: `/api/v1/cases/${c}/thread`,
      payload: { body_text: `Svar ${n}`, send: false },
    }),
    'GET /api/v1/cases/:number/discussion': () => ({ url: `/api/v1/cases/${c}/discussion` }),
    'POST /api/v1/cases/:number/discussion': () => ({
      url: `/api/v1/cases/${c}/discussion`,
      payload: { body_text: `Kan @APIADMIN titta? ${n}` },
    }),
    'GET /api/v1/cases/:number/internal-note': () => ({ url: `/api/v1/cases/${c}/internal-note` }),
    'PUT /api/v1/cases/:number/internal-note': async () => ({
      url: `/api/v1/cases/${c}/internal-note`,
      payload: { text: `Ring kunden ${n}` },
      headers: {
        'if-match': `"${(await f.db.selectFrom('cases').select('internal_note_version').where('number', '=', c).executeTakeFirstOrThrow()).internal_note_version}"`,
      },
    }),
    'POST /api/v1/cases/:number/work-order': () => ({
      url: `/api/v1/cases/${c}/work-order`,
      payload: { project_id: f.projectId, name: `Byt valsen ${n}` },
    }),
    'GET /api/v1/cases/:number/documents': () => ({ url: `/api/v1/cases/${c}/documents` }),
    'POST /api/v1/cases/:number/documents': () => ({
      url: `/api/v1/cases/${c}/documents`,
      payload: {
        file_name: `bilaga-${n}.txt`,
        content_type: 'text/plain',
        content_base64: Buffer.from(`Bilaga ${n}`).toString('base64'),
      },
    }),
    'GET /api/v1/documents/:id': () => ({ url: `/api/v1/documents/${f.documentId}` }),
    'GET /api/v1/documents/:id/content': () => ({ url: `/api/v1/documents/${f.documentId}/content` }),
    'GET /api/v1/documents/:id/versions/:version/content': () => ({
      url: `/api/v1/documents/${f.documentId}/versions/1/content`,
    }),
    'POST /api/v1/documents/:id/versions': () => ({
      url: `/api/v1/documents/${f.documentId}/versions`,
      payload: {
        file_name: 'offert.pdf',
        content_type: 'application/pdf',
        content_base64: Buffer.from(`%PDF offert ${n}`).toString('base64'),
      },
    }),
    'GET /api/v1/approvals': () => ({ url: '/api/v1/approvals' }),
    'POST /api/v1/approvals/:id/decision': async () => {
      const { chainId } = await submitForApproval(f.db, {
        fileName: `avtal-${n}.pdf`,
        customerId: f.customerId,
        folderId: f.approvalFolderId,
        by: f.admin,
      });
      return { url: `/api/v1/approvals/${chainId}/decision`, payload: { decision: 'approve', step: 0 } };
    },
    'GET /api/v1/projects': () => ({ url: '/api/v1/projects?q=API' }),
    'POST /api/v1/projects': () => ({ url: '/api/v1/projects', payload: { name: `Projekt ${n}` } }),
    'GET /api/v1/customers': () => ({ url: '/api/v1/customers?q=Acme' }),
    'POST /api/v1/customers': () => ({
      url: '/api/v1/customers',
      payload: { number: `API${n}`, name: `Kund ${n}`, email_domains: [] },
    }),
    'GET /api/v1/customers/:id': () => ({ url: `/api/v1/customers/${f.customerId}` }),
    'PATCH /api/v1/customers/:id': () => ({ url: `/api/v1/customers/${f.customerId}`, payload: { name: 'Acme AB' } }),
    'PATCH /api/v1/customers/:id/contacts/:contactId': () => ({
      url: `/api/v1/customers/${f.customerId}/contacts/${f.contactId}`,
      payload: { phone: `08-${n}` },
    }),
    'GET /api/v1/customers/:id/contacts': () => ({ url: `/api/v1/customers/${f.customerId}/contacts` }),
    'POST /api/v1/customers/:id/contacts': () => ({
      url: `/api/v1/customers/${f.customerId}/contacts`,
      payload: { name: `Kontakt ${n}`, email: `k${n}@acme.se` },
    }),
  };
  const make = samples[routeKey(route)];
  return make ? make() : undefined;
}

export function callApi(f: ApiFixtures, route: ApiRoute, sample: ApiSample, token: string | null) {
  const opts: InjectOptions = {
    method: route.method as InjectOptions['method'],
    url: sample.url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...sample.headers },
    ...(sample.payload !== undefined ? { payload: sample.payload as InjectOptions['payload'] } : {}),
  };
  return f.app.inject(opts);
}
