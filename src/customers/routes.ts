import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Contact, Customer } from '../db/schema.ts';
import {
  type FieldErrors,
  FormError,
  parseActivation,
  parseForm,
  parseId,
  parseQuery,
  queryText,
  typedValues,
} from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import {
  contactSchema,
  createContact,
  createCustomer,
  customerSchema,
  setContactActive,
  setCustomerActive,
  updateContact,
  updateCustomer,
} from './customers.ts';
import { findContact, findCustomerById, listContacts, listCustomers } from './queries.ts';

type Body = Record<string, string | undefined>;
type Params = { id: string };
type ContactParams = { id: string; contactId: string };
const listQuerySchema = z.object({ q: queryText, inactive: queryText, page: queryText });

// The customer list's search, "inactive too" and page, from the query string (administration and
// the agents' list alike).
export function customerListQuery(query: unknown): { q: string; includeInactive: boolean; page: number } {
  const { q, inactive, page } = parseQuery(listQuerySchema, query);
  return {
    q: (q ?? '').slice(0, 100),
    includeInactive: inactive === '1',
    page: Math.min(parseId(page) ?? 1, 100_000),
  };
}

// Ids in the URL are serial integers; anything else (or out of range) is simply not found.
function idFrom(text: string): number {
  const id = parseId(text);
  if (!id) throw notFound();
  return id;
}

function customerValues(customer: Customer): Body {
  return {
    number: customer.number,
    name: customer.name,
    email_domains: customer.email_domains.join(', '),
  };
}

function contactValues(contact: Contact): Body {
  return {
    name: contact.name,
    email: contact.email ?? '',
    phone: contact.phone ?? '',
    language: contact.language ?? '',
  };
}

type CustomerFormData = {
  customer?: Customer;
  values: Body;
  errors: FieldErrors;
  contactValues?: Body;
  contactErrors?: FieldErrors;
};

async function showCustomerForm(request: FastifyRequest, reply: FastifyReply, data: CustomerFormData, status = 200) {
  const contacts = data.customer ? await listContacts(request.server.deps.db, data.customer.id) : [];
  return reply.code(status).view('customers/form', {
    contactValues: {},
    contactErrors: {},
    ...data,
    contacts,
  });
}

function showContactForm(
  reply: FastifyReply,
  data: { customer: Customer; contact: Contact; values: Body; errors: FieldErrors },
  status = 200,
) {
  return reply.code(status).view('customers/contact-form', data);
}

async function loadCustomer(request: FastifyRequest<{ Params: Params }>): Promise<Customer> {
  const customer = await findCustomerById(request.server.deps.db, idFrom(request.params.id));
  if (!customer) throw notFound();
  return customer;
}

async function loadContact(
  request: FastifyRequest<{ Params: ContactParams }>,
): Promise<{ customer: Customer; contact: Contact }> {
  const customer = await loadCustomer(request);
  const contact = await findContact(request.server.deps.db, customer.id, idFrom(request.params.contactId));
  if (!contact) throw notFound();
  return { customer, contact };
}

export async function registerCustomerAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/', async (request, reply) => {
    const list = customerListQuery(request.query);
    const result = await listCustomers(db, list);
    return render(
      request,
      reply,
      { page: 'customers/index', fragment: 'customers/index/_rows' },
      { ...result, q: list.q, includeInactive: list.includeInactive },
    );
  });

  app.get('/new', async (request, reply) => showCustomerForm(request, reply, { values: {}, errors: {} }));

  app.post('/', async (request, reply) => {
    const values = typedValues(request.body);
    const form = parseForm(customerSchema, request.body);
    if (!form.ok) return showCustomerForm(request, reply, { values, errors: form.errors }, 422);
    try {
      const customer = await createCustomer(db, form.data);
      return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError) return showCustomerForm(request, reply, { values, errors: error.fields }, 422);
      throw error;
    }
  });

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const customer = await loadCustomer(request);
    return showCustomerForm(request, reply, { customer, values: customerValues(customer), errors: {} });
  });

  app.post<{ Params: Params }>('/:id', async (request, reply) => {
    const customer = await loadCustomer(request);
    const values = typedValues(request.body);
    const form = parseForm(customerSchema, request.body);
    if (!form.ok) return showCustomerForm(request, reply, { customer, values, errors: form.errors }, 422);
    try {
      await updateCustomer(db, customer.id, form.data);
      return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError)
        return showCustomerForm(request, reply, { customer, values, errors: error.fields }, 422);
      throw error;
    }
  });

  // Activation is a sub-resource: POST active=1 to activate, active=0 to deactivate.
  app.post<{ Params: Params }>('/:id/activation', async (request, reply) => {
    const customer = await loadCustomer(request);
    await setCustomerActive(db, customer.id, parseActivation(request.body));
    return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
  });

  app.post<{ Params: Params }>('/:id/contacts', async (request, reply) => {
    const customer = await loadCustomer(request);
    const form = parseForm(contactSchema, request.body);
    if (!form.ok)
      return showCustomerForm(
        request,
        reply,
        {
          customer,
          values: customerValues(customer),
          errors: {},
          contactValues: typedValues(request.body),
          contactErrors: form.errors,
        },
        422,
      );
    await createContact(db, customer.id, form.data);
    return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
  });

  app.get<{ Params: ContactParams }>('/:id/contacts/:contactId', async (request, reply) => {
    const { customer, contact } = await loadContact(request);
    return showContactForm(reply, { customer, contact, values: contactValues(contact), errors: {} });
  });

  app.post<{ Params: ContactParams }>('/:id/contacts/:contactId', async (request, reply) => {
    const { customer, contact } = await loadContact(request);
    const form = parseForm(contactSchema, request.body);
    if (!form.ok)
      return showContactForm(reply, { customer, contact, values: typedValues(request.body), errors: form.errors }, 422);
    await updateContact(db, contact.id, form.data);
    return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
  });

  app.post<{ Params: ContactParams }>('/:id/contacts/:contactId/activation', async (request, reply) => {
    const { customer, contact } = await loadContact(request);
    await setContactActive(db, contact.id, parseActivation(request.body));
    return redirectAfterPost(request, reply, `/admin/customers/${customer.id}`, request.t('common.saved'));
  });
}
