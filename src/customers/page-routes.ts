import type { FastifyInstance } from 'fastify';
import { loadDocumentsPanel } from '../documents/panel.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { render } from '../web/render.ts';
import { findCustomerById, listContacts, listCustomers, listRecentCustomerCases } from './queries.ts';

type ListQuery = { q?: string; inactive?: string; page?: string };

// The customers as agents see them: search and read, with the customer's cases and documents.
// Editing stays in /admin/customers, for administrators.
export async function registerCustomerPageRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get<{ Querystring: ListQuery }>('/customers', async (request, reply) => {
    const q = (typeof request.query.q === 'string' ? request.query.q : '').trim().slice(0, 100);
    const includeInactive = request.query.inactive === '1';
    const page = Math.min(Number(request.query.page) || 1, 100_000);
    const result = await listCustomers(db, { q, includeInactive, page });
    return render(
      request,
      reply,
      { page: 'customers/page/index', fragment: 'customers/page/_rows' },
      { ...result, q, includeInactive },
    );
  });

  app.get<{ Params: { id: string } }>('/customers/:id', async (request, reply) => {
    const id = /^[1-9]\d{0,8}$/.test(request.params.id) ? Number(request.params.id) : 0;
    const customer = id ? await findCustomerById(db, id) : undefined;
    if (!customer) throw notFound();
    const [contacts, cases, documentsPanel] = await Promise.all([
      listContacts(db, customer.id),
      listRecentCustomerCases(db, customer.id),
      loadDocumentsPanel(db, { kind: 'customer', id: customer.id }, currentUser(request)),
    ]);
    return render(request, reply, { page: 'customers/page/show' }, { customer, contacts, cases, documentsPanel });
  });
}
