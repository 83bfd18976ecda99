import type { FastifyInstance } from 'fastify';
import { loadDocumentsPanel } from '../documents/panel.ts';
import { parseId } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { render } from '../web/render.ts';
import { findCustomerById, listContacts, listCustomers, listRecentCustomerCases } from './queries.ts';
import { customerListQuery } from './routes.ts';

// The customers as agents see them: search and read, with the customer's cases and documents.
// Editing stays in /admin/customers, for administrators.
export async function registerCustomerPageRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/customers', async (request, reply) => {
    const list = customerListQuery(request.query);
    const result = await listCustomers(db, list);
    return render(
      request,
      reply,
      { page: 'customers/page/index', fragment: 'customers/page/_rows' },
      { ...result, q: list.q, includeInactive: list.includeInactive },
    );
  });

  app.get<{ Params: { id: string } }>('/customers/:id', async (request, reply) => {
    const id = parseId(request.params.id);
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
