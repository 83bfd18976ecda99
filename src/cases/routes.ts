import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findTab, loadCase, loadCaseForPage, renderCasePage } from '../case-page/page.ts';
import { resolveCustomer } from '../customers/queries.ts';
import type { Db } from '../db/database.ts';
import {
  type FieldErrors,
  FormError,
  parseForm,
  parseQuery,
  queryText,
  type RawForm,
  rawForm,
  toSingleLine,
  typedValues,
  versionField,
} from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  caseHeaderSchema,
  clearCaseTriage,
  createCase,
  newCaseSchema,
  StaleEditError,
  updateCaseHeader,
} from './cases.ts';
import {
  type CaseView,
  listCustomerContacts,
  loadCaseFormOptions,
  newCaseDefaults,
  suggestCustomers,
} from './queries.ts';

type Body = Record<string, string | undefined>;
type NumberParams = { number: string };

const pickerQuerySchema = z.object({ customer: queryText, contact_id: queryText });
const headerEditSchema = caseHeaderSchema.extend({ version: versionField });

// The form names the customer by number (typed or picked from the suggestions) or by full name
// (resolveCustomer); the domain wants its id. Why a typed text names no customer goes beside the
// field in place of the schema's "required". A repeated field goes on as it came, for the schema
// to refuse.
async function withCustomerId(
  request: FastifyRequest,
  body: RawForm,
): Promise<{ raw: RawForm; customerProblem?: string }> {
  if (typeof body.customer !== 'string') return { raw: { ...body, customer_id: body.customer ?? '' } };
  const typed = toSingleLine(body.customer);
  if (!typed) return { raw: { ...body, customer_id: '' } };
  const resolved = await resolveCustomer(request.server.deps.db, typed);
  if ('problem' in resolved) return { raw: { ...body, customer_id: '' }, customerProblem: resolved.problem };
  return { raw: { ...body, customer_id: String(resolved.customer.id) } };
}

const withProblem = (errors: FieldErrors, customerProblem?: string): FieldErrors =>
  customerProblem ? { ...errors, customer_id: customerProblem } : errors;

// The customer a form's field names, for its contacts list.
async function customerIdOf(db: Db, typed: string | undefined): Promise<number | null> {
  const resolved = typed ? await resolveCustomer(db, toSingleLine(typed)) : undefined;
  return resolved && 'customer' in resolved ? resolved.customer.id : null;
}

export async function registerCaseRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  const showNewForm = async (reply: FastifyReply, values: Body, errors: Record<string, string>, status = 200) => {
    const options = await loadCaseFormOptions(db, await customerIdOf(db, values.customer));
    return reply.code(status).view('cases/new', { values, errors, options });
  };

  app.get('/', async (_request, reply) => reply.redirect('/cases', 303));

  app.get('/cases/new', async (request, reply) => {
    // A new case starts as the user's own, open, of the first type: most cases need no change.
    const { statusId, caseTypeId } = await newCaseDefaults(db);
    const defaults = {
      responsible_id: String(currentUser(request).id),
      status_id: statusId !== null ? String(statusId) : '',
      case_type_id: caseTypeId !== null ? String(caseTypeId) : '',
    };
    return showNewForm(reply, defaults, {});
  });

  app.post('/cases', async (request, reply) => {
    const formKey = formKeyOf(request.body);
    const { raw: body, customerProblem } = await withCustomerId(request, rawForm(request.body));
    const form = parseForm(newCaseSchema, body);
    if (!form.ok) return showNewForm(reply, typedValues(body), withProblem(form.errors, customerProblem), 422);
    try {
      const created = await createCase(db, form.data, currentUser(request), { config: app.deps.config, formKey });
      // a new responsible may have been e-mailed
      app.deps.mailSender?.kick();
      return redirectAfterPost(
        request,
        reply,
        `/cases/${created.number}`,
        request.t('cases.created', { number: created.number }),
      );
    } catch (error) {
      if (error instanceof FormError) return showNewForm(reply, typedValues(body), error.fields, 422);
      throw error;
    }
  });

  // Picker helpers for the case forms: customers as datalist options, a customer's contacts.
  app.get('/cases/pickers/customers', async (request, reply) => {
    const query = parseQuery(pickerQuerySchema, request.query);
    const customers = await suggestCustomers(db, query.customer ?? '');
    return reply.view('cases/pickers/_customers', { customers });
  });
  app.get('/cases/pickers/contacts', async (request, reply) => {
    const query = parseQuery(pickerQuerySchema, request.query);
    const customerId = await customerIdOf(db, query.customer);
    const contacts = customerId ? await listCustomerContacts(db, customerId) : [];
    return reply.view('cases/pickers/_contacts', { contacts, selected: query.contact_id ?? '' });
  });

  // A case merged into another leads to it (src/cases/merge.ts), on the same tab.
  const mergedAway = (kase: CaseView, reply: FastifyReply, tab?: string) =>
    kase.merged_into_number
      ? reply.redirect(`/cases/${encodeURIComponent(kase.merged_into_number)}${tab ? `/${tab}` : ''}`, 302)
      : null;

  app.get<{ Params: NumberParams }>('/cases/:number', { config: { countsUnread: true } }, async (request, reply) => {
    const kase = await loadCaseForPage(request, reply);
    return mergedAway(kase, reply) ?? renderCasePage(request, reply, kase, 'thread');
  });

  // Each tab has its own URL, so a reload or a shared link opens the same tab.
  app.get<{ Params: NumberParams & { tab: string } }>(
    '/cases/:number/:tab',
    { config: { countsUnread: true } },
    async (request, reply) => {
      const tab = findTab(request.params.tab);
      const kase = await loadCaseForPage(request, reply);
      return mergedAway(kase, reply, tab.name) ?? renderCasePage(request, reply, kase, tab.name);
    },
  );

  // An agent looked at a case flagged for triage (a stranger's mail about another case).
  app.post<{ Params: NumberParams }>('/cases/:number/triage-clearance', async (request, reply) => {
    const found = await loadCase(request);
    const cleared = await clearCaseTriage(db, found.id, currentUser(request));
    return redirectAfterPost(
      request,
      reply,
      `/cases/${found.number}`,
      request.t(cleared ? 'triage.cleared' : 'triage.not_flagged'),
    );
  });

  app.post<{ Params: NumberParams }>('/cases/:number/header', async (request, reply) => {
    const found = await loadCase(request);
    const { raw, customerProblem } = await withCustomerId(request, rawForm(request.body));
    const body = typedValues(raw);
    // a failed save offers the contacts of the customer typed, not of the one saved
    const typedCustomer = Number(raw.customer_id) || null;
    const form = parseForm(headerEditSchema, raw);
    if (!form.ok) {
      const errors = withProblem(form.errors, customerProblem);
      return renderCasePage(request, reply, found, 'thread', {
        values: body,
        errors,
        status: 422,
        customerId: typedCustomer,
      });
    }
    try {
      const { version, ...header } = form.data;
      await updateCaseHeader(db, found.id, version, header, currentUser(request), {
        config: app.deps.config,
      });
      app.deps.mailSender?.kick();
      return redirectAfterPost(request, reply, `/cases/${found.number}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof StaleEditError) {
        // Show the other person's saved version underneath, with what this user typed on top.
        const fresh = await loadCase(request);
        return renderCasePage(request, reply, fresh, 'thread', {
          values: { ...body, version: String(fresh.version) },
          stale: true,
          status: 409,
        });
      }
      if (error instanceof FormError) {
        return renderCasePage(request, reply, found, 'thread', {
          values: body,
          errors: error.fields,
          status: 422,
          customerId: typedCustomer,
        });
      }
      throw error;
    }
  });
}
