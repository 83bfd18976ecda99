import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { caseHeaderSchema, createCase, newCaseSchema, updateCaseHeader } from '../cases/cases.ts';
import { defaultFilter, type OverviewFilter } from '../cases/overview.ts';
import { isDocumentApprovalCase, newCaseDefaults } from '../cases/queries.ts';
import { FormError, optionalIdField, parseForm } from '../forms/form.ts';
import { todayIn } from '../i18n/i18n.ts';
import { plainTextToHtml } from '../rich-text/escape.ts';
import { addStaffReply, replySchema } from '../threads/threads.ts';
import { currentUser } from '../web/context.ts';
import { problem } from './problem.ts';
import { decodeCursor, findApiCase, listApiCasesKept, listApiThread } from './queries.ts';
import { apiPrefix, caseFromPath, idempotencyKeyOf, versionOf } from './request.ts';
import {
  caseListQuerySchema,
  caseListSchema,
  caseNumberParams,
  casePatchSchema,
  caseSchema,
  newCaseBodySchema,
  newReplyBodySchema,
  problemResponses,
  replyCreatedSchema,
  threadListSchema,
  versionedProblemResponses,
} from './schemas.ts';

// A JSON value as the form field the domain's rules read ('' for none).
const asField = (value: string | number | null | undefined) =>
  value === null || value === undefined ? '' : String(value);

// A case's header as a change leaves it; a case from an unknown sender may stay without a customer.
const headerSchema = caseHeaderSchema.extend({ customer_id: optionalIdField });

export async function registerApiCaseRoutes(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { db, config } = app.deps;
  const tags = ['Cases'];

  const findCase = async (number: string) => {
    const kase = await findApiCase(db, number);
    if (!kase) throw problem(404, `No case ${number}.`);
    return kase;
  };

  api.get(
    '/cases',
    {
      schema: {
        tags,
        summary: 'List cases',
        description:
          'With the overview’s filters and search, newest activity first, a page at a time: pass next_cursor as cursor for the next. Without status, the unfinished cases.',
        querystring: caseListQuerySchema,
        response: { 200: caseListSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const cursor = q.cursor ? decodeCursor(q.cursor) : null;
      if (q.cursor && !cursor) throw problem(400, 'The cursor is not one this API gave.');
      const filter: OverviewFilter = {
        ...defaultFilter,
        resp:
          q.responsible === 'me' || q.responsible === 'any'
            ? q.responsible
            : q.responsible === 'none'
              ? 'unassigned'
              : Number(q.responsible),
        kind: q.status,
        status: q.status_id ?? null,
        type: q.case_type_id ?? null,
        prio: q.priority_id ?? null,
        customer: q.customer ?? '',
        due: q.due ?? null,
        q: (q.q ?? '').trim(),
        sort: 'activity',
        dir: 'desc',
      };
      const page = await listApiCasesKept(
        db,
        filter,
        currentUser(request),
        { today: todayIn(config.timeZone), timeZone: config.timeZone },
        { limit: q.limit, cursor, updatedSince: q.updated_since ? new Date(q.updated_since) : null },
      );
      // already JSON, checked against the schema when it was read (listApiCasesKept)
      return reply.type('application/json; charset=utf-8').send(page as never);
    },
  );

  api.get(
    '/cases/:number',
    {
      schema: {
        tags,
        summary: 'Get a case',
        description: 'Its version is also its ETag, for If-Match when changing it.',
        params: caseNumberParams,
        response: { 200: caseSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { id: _id, ...kase } = await findCase(request.params.number);
      reply.header('etag', `"${kase.version}"`);
      return kase;
    },
  );

  api.post(
    '/cases',
    {
      schema: {
        tags,
        summary: 'Create a case',
        description:
          'With an Idempotency-Key header, a repeat of the same request gets the same case rather than a second one.',
        body: newCaseBodySchema,
        response: { 201: caseSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const formKey = idempotencyKeyOf(request);
      const b = request.body;
      const defaults = await newCaseDefaults(db);
      const form = parseForm(newCaseSchema, {
        title: b.title,
        customer_id: asField(b.customer_id),
        case_type_id: asField(b.case_type_id ?? defaults.caseTypeId),
        status_id: asField(b.status_id ?? defaults.statusId),
        priority_id: asField(b.priority_id),
        responsible_id: asField(b.responsible_id ?? user.id),
        due_date: asField(b.due_date),
        contact_id: asField(b.contact_id),
        contact_name: asField(b.contact_name),
        contact_email: asField(b.contact_email),
        contact_phone: asField(b.contact_phone),
        body_html: b.body_html ?? plainTextToHtml(b.body_text ?? ''),
      });
      if (!form.ok) throw new FormError(form.errors);
      const created = await createCase(db, form.data, user, { config, formKey });
      app.deps.mailSender?.kick();
      const { id: _id, ...kase } = await findCase(created.number);
      return reply
        .code(201)
        .header('location', `${apiPrefix}/cases/${encodeURIComponent(kase.number)}`)
        .header('etag', `"${kase.version}"`)
        .send(kase);
    },
  );

  api.patch(
    '/cases/:number',
    {
      schema: {
        tags,
        summary: 'Change a case',
        description:
          'Send If-Match with the version the change is based on; a case changed since answers 412 with its current version. A status change goes through the case lifecycle (history, clocks, webhooks).',
        params: caseNumberParams,
        body: casePatchSchema,
        headers: z.object({ 'if-match': z.string().max(50).optional() }),
        response: { 200: caseSchema, ...versionedProblemResponses },
      },
    },
    async (request, reply) => {
      const version = versionOf(request.headers['if-match'], 'the case');
      const current = await findCase(request.params.number);
      const b = request.body;
      const pick = <K extends keyof typeof b>(key: K, now: (typeof b)[K] | string | number | null) =>
        asField(key in b ? (b[key] as string | number | null) : (now as string | number | null));
      const header = parseForm(headerSchema, {
        title: 'title' in b ? b.title : current.title,
        customer_id: pick('customer_id', current.customer_id),
        case_type_id: pick('case_type_id', current.case_type_id),
        status_id: pick('status_id', current.status_id),
        priority_id: pick('priority_id', current.priority_id),
        responsible_id: pick('responsible_id', current.responsible_id),
        due_date: pick('due_date', current.due_date),
        contact_id: pick('contact_id', current.contact_id),
        contact_name: pick('contact_name', current.contact_id ? null : current.contact_name),
        contact_email: pick('contact_email', current.contact_email),
        contact_phone: pick('contact_phone', current.contact_phone),
      });
      if (!header.ok) throw new FormError(header.errors);
      // a stale version throws StaleEditError, which answers 412 (problem.ts)
      await updateCaseHeader(db, current.id, version, header.data, currentUser(request), {
        config,
        allowNoCustomer: true,
      });
      app.deps.mailSender?.kick();
      const { id: _id, ...kase } = await findCase(current.number);
      reply.header('etag', `"${kase.version}"`);
      return kase;
    },
  );

  api.get(
    '/cases/:number/thread',
    {
      schema: {
        tags: ['Thread'],
        summary: "List a case's thread",
        description: 'The customer’s messages, replies and system lines, oldest first. Internal notes are not in it.',
        params: caseNumberParams,
        response: { 200: threadListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const kase = await caseFromPath(db, request.params.number);
      return { data: await listApiThread(db, kase.id) };
    },
  );

  api.post(
    '/cases/:number/thread',
    {
      schema: {
        tags: ['Thread'],
        summary: 'Reply to the customer',
        description:
          'send: true mails it now (to the case’s contact unless to is given); send: false saves it for later. With an Idempotency-Key, a repeat gets the first reply, not a second mail.',
        params: caseNumberParams,
        body: newReplyBodySchema,
        response: { 201: replyCreatedSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const formKey = idempotencyKeyOf(request);
      const kase = await caseFromPath(db, request.params.number);
      if (isDocumentApprovalCase(kase)) throw problem(409, 'A document approval case has no customer to reply to.');
      const b = request.body;
      const contactEmail = kase.contact_record_email ?? kase.contact_email;
      const to = b.to ?? (b.send && contactEmail ? [contactEmail] : []);
      const form = parseForm(replySchema, {
        body_html: b.body_html ?? plainTextToHtml(b.body_text ?? ''),
        delivery: b.send ? 'to_send' : 'saved',
        to: to.join(','),
        cc: (b.cc ?? []).join(','),
        document_ids: b.document_ids ?? [],
        set_waiting: b.set_waiting ? 'on' : '',
      });
      if (!form.ok) throw new FormError(form.errors);
      const added = await addStaffReply(db, kase.id, form.data, user, { config, formKey });
      if (added.delivery === 'to_send') app.deps.mailSender?.kick();
      return reply
        .code(201)
        .send({ id: String(added.id), delivery: added.delivery === 'to_send' ? 'to_send' : 'saved' } as const);
    },
  );
}
