import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  contactSchema as contactFormSchema,
  createContact,
  createCustomer,
  customerSchema as customerFormSchema,
  updateContact,
  updateCustomer,
} from '../customers/customers.ts';
import { findContact, findCustomerById, listContacts, listCustomers } from '../customers/queries.ts';
import type { Contact, Customer, User } from '../db/schema.ts';
import { FormError, parseForm } from '../forms/form.ts';
import { listUsers } from '../users/queries.ts';
import { currentUser } from '../web/context.ts';
import { problem } from './problem.ts';
import { apiPrefix } from './request.ts';
import {
  contactListSchema,
  contactSchema,
  customerBodySchema,
  customerListSchema,
  customerQuerySchema,
  customerSchema,
  idParams,
  meSchema,
  problemResponses,
  userListSchema,
} from './schemas.ts';

const asCustomer = (c: Customer) => ({
  id: c.id,
  number: c.number,
  name: c.name,
  email_domains: c.email_domains,
  active: c.active,
});
const asContact = (c: Contact) => ({
  id: c.id,
  customer_id: c.customer_id,
  name: c.name,
  email: c.email,
  phone: c.phone,
  active: c.active,
});
const asUser = (u: User) => ({
  id: u.id,
  login: u.login,
  name: u.name,
  initials: u.initials,
  email: u.email,
  role: u.role,
  active: u.active,
});

const contactBodySchema = z
  .object({
    name: z.string().max(200),
    email: z.string().max(200).nullable().optional(),
    phone: z.string().max(50).nullable().optional(),
  })
  .meta({ id: 'NewContact' });

// Who the token is, customers and their contacts, and the users a case can be given to.
// Customers and contacts are changed by administrators only, as on the pages (/admin/customers).
export async function registerApiDirectoryRoutes(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { db } = app.deps;
  const requireAdmin = (user: User) => {
    if (user.role !== 'admin') throw problem(403, 'Only administrators may change customers and contacts.');
  };
  const findCustomer = async (id: number) => {
    const customer = await findCustomerById(db, id);
    if (!customer) throw problem(404, `No customer ${id}.`);
    return customer;
  };

  api.get(
    '/me',
    {
      schema: {
        tags: ['Users'],
        summary: 'The token’s user and scopes',
        response: { 200: meSchema, ...problemResponses },
      },
    },
    async (request) => ({ user: asUser(currentUser(request)), scopes: request.apiToken?.scopes ?? [] }),
  );

  api.get(
    '/users',
    {
      schema: {
        tags: ['Users'],
        summary: 'List users',
        response: { 200: userListSchema, ...problemResponses },
      },
    },
    async () => ({ data: (await listUsers(db, { includeInactive: true })).map(asUser) }),
  );

  api.get(
    '/customers',
    {
      schema: {
        tags: ['Customers'],
        summary: 'Search customers',
        description: 'By number (exact or its start) or any part of the name; at most 50.',
        querystring: customerQuerySchema,
        response: { 200: customerListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const page = await listCustomers(db, {
        q: request.query.q,
        includeInactive: request.query.include_inactive === 'true',
      });
      return { data: page.customers.map(asCustomer) };
    },
  );

  api.get(
    '/customers/:id',
    {
      schema: {
        tags: ['Customers'],
        summary: 'Get a customer',
        params: idParams,
        response: { 200: customerSchema, ...problemResponses },
      },
    },
    async (request) => asCustomer(await findCustomer(request.params.id)),
  );

  const customerForm = (body: z.output<typeof customerBodySchema>) => {
    const form = parseForm(customerFormSchema, {
      number: body.number,
      name: body.name,
      email_domains: body.email_domains.join(' '),
    });
    if (!form.ok) throw new FormError(form.errors);
    return form.data;
  };

  api.post(
    '/customers',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Customers'],
        summary: 'Create a customer (administrators)',
        body: customerBodySchema,
        response: { 201: customerSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(currentUser(request));
      const customer = await createCustomer(db, customerForm(request.body));
      return reply.code(201).header('location', `${apiPrefix}/customers/${customer.id}`).send(asCustomer(customer));
    },
  );

  api.patch(
    '/customers/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Customers'],
        summary: 'Change a customer (administrators)',
        params: idParams,
        body: customerBodySchema.partial(),
        response: { 200: customerSchema, ...problemResponses },
      },
    },
    async (request) => {
      requireAdmin(currentUser(request));
      const current = await findCustomer(request.params.id);
      const b = request.body;
      const input = customerForm({
        number: b.number ?? current.number,
        name: b.name ?? current.name,
        email_domains: b.email_domains ?? current.email_domains,
      });
      return asCustomer(await updateCustomer(db, current.id, input));
    },
  );

  api.get(
    '/customers/:id/contacts',
    {
      schema: {
        tags: ['Customers'],
        summary: "List a customer's contacts",
        params: idParams,
        response: { 200: contactListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const customer = await findCustomer(request.params.id);
      return { data: (await listContacts(db, customer.id)).map(asContact) };
    },
  );

  api.post(
    '/customers/:id/contacts',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Customers'],
        summary: 'Add a contact to a customer (administrators)',
        params: idParams,
        body: contactBodySchema,
        response: { 201: contactSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      requireAdmin(currentUser(request));
      const customer = await findCustomer(request.params.id);
      const b = request.body;
      const form = parseForm(contactFormSchema, { name: b.name, email: b.email ?? '', phone: b.phone ?? '' });
      if (!form.ok) throw new FormError(form.errors);
      return reply.code(201).send(asContact(await createContact(db, customer.id, form.data)));
    },
  );

  api.patch(
    '/customers/:id/contacts/:contactId',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['Customers'],
        summary: "Change a customer's contact (administrators)",
        params: idParams.extend({ contactId: z.coerce.number().int().positive().max(2_147_483_647) }),
        body: contactBodySchema.partial(),
        response: { 200: contactSchema, ...problemResponses },
      },
    },
    async (request) => {
      requireAdmin(currentUser(request));
      const contact = await findContact(db, request.params.id, request.params.contactId);
      if (!contact) throw problem(404, `Customer ${request.params.id} has no contact ${request.params.contactId}.`);
      const b = request.body;
      const form = parseForm(contactFormSchema, {
        name: b.name ?? contact.name,
        email: (b.email === undefined ? contact.email : b.email) ?? '',
        phone: (b.phone === undefined ? contact.phone : b.phone) ?? '',
      });
      if (!form.ok) throw new FormError(form.errors);
      const { language: _language, ...fields } = form.data;
      return asContact(await updateContact(db, contact.id, fields));
    },
  );
}
