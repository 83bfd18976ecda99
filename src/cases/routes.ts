import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addStaffReply, listThreadEntries, replySchema } from '../threads/threads.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { FormError, parseForm } from '../web/form.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import { caseHeaderSchema, createCase, newCaseSchema, StaleEditError, updateCaseHeader } from './cases.ts';
import {
  type CaseView,
  findCaseByNumber,
  findCustomerByNumber,
  listCaseEvents,
  listCustomerContacts,
  listMyOpenCases,
  loadCaseFormOptions,
  suggestCustomers,
} from './queries.ts';

type Body = Record<string, string | undefined>;
type NumberParams = { number: string };
const tabs = ['thread', 'history'] as const;
type Tab = (typeof tabs)[number];

// The form names the customer by number (typed or picked); the domain wants its id.
async function withCustomerId(request: FastifyRequest, body: Body): Promise<Body> {
  const typed = body.customer?.trim();
  if (!typed) return { ...body, customer_id: '' };
  const customer = await findCustomerByNumber(request.server.deps.db, typed);
  return { ...body, customer_id: customer ? String(customer.id) : '' };
}

async function loadCase(request: FastifyRequest<{ Params: NumberParams }>): Promise<CaseView> {
  const found = await findCaseByNumber(request.server.deps.db, request.params.number);
  if (!found) throw notFound();
  return found;
}

function headerValues(c: CaseView): Body {
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    title: c.title,
    responsible_id: text(c.responsible_id),
    customer: text(c.customer_number),
    status_id: String(c.status_id),
    case_type_id: String(c.case_type_id),
    priority_id: text(c.priority_id),
    due_date: text(c.due_date),
    contact_id: text(c.contact_id),
    contact_name: text(c.contact_name),
    contact_email: text(c.contact_email),
    contact_phone: text(c.contact_phone),
    version: String(c.version),
  };
}

export async function registerCaseRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  const showNewForm = async (reply: FastifyReply, values: Body, errors: Record<string, string>, status = 200) => {
    const customer = values.customer ? await findCustomerByNumber(db, values.customer) : undefined;
    const options = await loadCaseFormOptions(db, customer?.id ?? null);
    return reply.code(status).view('cases/new', { values, errors, options });
  };

  const showCase = async (
    request: FastifyRequest,
    reply: FastifyReply,
    found: CaseView,
    tab: Tab,
    extra: {
      values?: Body;
      errors?: Record<string, string>;
      reply?: Body;
      replyErrors?: Record<string, string>;
      stale?: boolean;
      status?: number;
    } = {},
  ) => {
    const [options, thread, events] = await Promise.all([
      loadCaseFormOptions(db, found.customer_id),
      tab === 'thread' ? listThreadEntries(db, found.id) : Promise.resolve([]),
      tab === 'history' ? listCaseEvents(db, found.id) : Promise.resolve([]),
    ]);
    return render(
      request,
      reply,
      { page: 'cases/show', fragment: `cases/show/_${tab}`, status: extra.status },
      {
        kase: found,
        tab,
        options,
        thread,
        events,
        values: extra.values ?? headerValues(found),
        errors: extra.errors ?? {},
        replyValues: extra.reply ?? { delivery: 'to_send' },
        replyErrors: extra.replyErrors ?? {},
        stale: extra.stale ?? false,
      },
    );
  };

  app.get('/', async (_request, reply) => reply.redirect('/cases', 303));

  app.get('/cases', async (request, reply) => {
    const cases = await listMyOpenCases(db, currentUser(request).id);
    return reply.view('cases/index', { cases });
  });

  app.get('/cases/new', async (request, reply) =>
    showNewForm(reply, { responsible_id: String(currentUser(request).id) }, {}),
  );

  app.post<{ Body: Body }>('/cases', async (request, reply) => {
    const body = await withCustomerId(request, request.body ?? {});
    const form = parseForm(newCaseSchema, body);
    if (!form.ok) return showNewForm(reply, body, form.errors, 422);
    try {
      const created = await createCase(db, form.data, currentUser(request));
      return redirectAfterPost(
        request,
        reply,
        `/cases/${created.number}`,
        request.t('cases.created', { number: created.number }),
      );
    } catch (error) {
      if (error instanceof FormError) return showNewForm(reply, body, error.fields, 422);
      throw error;
    }
  });

  // Picker helpers for the case forms: customers as datalist options, a customer's contacts.
  app.get<{ Querystring: { customer?: string } }>('/cases/pickers/customers', async (request, reply) => {
    const customers = await suggestCustomers(db, request.query.customer ?? '');
    return reply.view('cases/pickers/_customers', { customers });
  });
  app.get<{ Querystring: { customer?: string; contact_id?: string } }>(
    '/cases/pickers/contacts',
    async (request, reply) => {
      const customer = await findCustomerByNumber(db, request.query.customer ?? '');
      const contacts = customer ? await listCustomerContacts(db, customer.id) : [];
      return reply.view('cases/pickers/_contacts', { contacts, selected: request.query.contact_id ?? '' });
    },
  );

  app.get<{ Params: NumberParams }>('/cases/:number', async (request, reply) =>
    showCase(request, reply, await loadCase(request), 'thread'),
  );

  app.get<{ Params: NumberParams & { tab: string } }>('/cases/:number/:tab', async (request, reply) => {
    const tab = tabs.find((t) => t === request.params.tab);
    if (!tab) throw notFound();
    return showCase(request, reply, await loadCase(request), tab);
  });

  app.post<{ Params: NumberParams; Body: Body }>('/cases/:number/header', async (request, reply) => {
    const found = await loadCase(request);
    const body = await withCustomerId(request, request.body ?? {});
    const form = parseForm(caseHeaderSchema, body);
    if (!form.ok) return showCase(request, reply, found, 'thread', { values: body, errors: form.errors, status: 422 });
    try {
      await updateCaseHeader(db, found.id, Number(body.version), form.data, currentUser(request));
      return redirectAfterPost(request, reply, `/cases/${found.number}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof StaleEditError) {
        const fresh = await loadCase(request);
        return showCase(request, reply, fresh, 'thread', {
          values: { ...body, version: String(fresh.version) },
          stale: true,
          status: 409,
        });
      }
      if (error instanceof FormError)
        return showCase(request, reply, found, 'thread', { values: body, errors: error.fields, status: 422 });
      throw error;
    }
  });

  app.post<{ Params: NumberParams; Body: Body }>('/cases/:number/thread', async (request, reply) => {
    const found = await loadCase(request);
    const form = parseForm(replySchema, request.body);
    try {
      if (!form.ok) throw new FormError(form.errors);
      await addStaffReply(db, found.id, form.data, currentUser(request));
      return redirectAfterPost(request, reply, `/cases/${found.number}`, request.t('thread.reply_saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showCase(request, reply, found, 'thread', { reply: request.body, replyErrors: error.fields, status: 422 });
    }
  });
}
