import { z } from 'zod';

// The REST API's shapes (issue 19): what the routes take and give, from which the OpenAPI
// document is generated (src/api/openapi.ts). Input is checked again by the domain's own form
// rules (cases.ts newCaseSchema, threads.ts replySchema …), so these say what a client sends,
// and the domain says what is allowed.

const id = z.number().int().positive();
const dateTime = z.iso.datetime({ offset: true }).describe('RFC 3339 date and time');
const date = z.iso.date();

export const problemSchema = z
  .object({
    type: z.string().describe('about:blank, or a URI naming the kind of problem'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('each field that was refused, and why'),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem, served as application/problem+json' });

export const caseSchema = z
  .object({
    number: z.string(),
    title: z.string(),
    status_id: id,
    status_name: z.string(),
    status_kind: z.enum(['open', 'waiting', 'work_order', 'closed']),
    case_type_id: id,
    case_type_name: z.string(),
    priority_id: id.nullable(),
    priority_name: z.string().nullable(),
    responsible_id: id.nullable(),
    responsible_name: z.string().nullable(),
    customer_id: id.nullable(),
    customer_number: z.string().nullable(),
    customer_name: z.string().nullable(),
    contact_id: id.nullable(),
    contact_name: z.string().nullable(),
    contact_email: z.string().nullable(),
    contact_phone: z.string().nullable(),
    due_date: date.nullable(),
    source: z.enum(['manual', 'email']),
    version: z.number().int().describe('sent back in If-Match to change the case; also its ETag'),
    created_at: dateTime,
    updated_at: dateTime,
    last_activity_at: dateTime,
    closed_at: dateTime.nullable(),
    merged_into: z.string().nullable().describe('the case this one was merged into, if any'),
  })
  .meta({ id: 'Case' });
export type ApiCase = z.output<typeof caseSchema>;

export const caseListSchema = z
  .object({
    data: z.array(caseSchema),
    next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
  })
  .meta({ id: 'CaseList' });

const statusFilter = z.enum(['unfinished', 'open', 'waiting', 'work_order', 'closed', 'all']);
export const caseListQuerySchema = z.object({
  responsible: z
    .union([z.enum(['me', 'none', 'any']), z.string().regex(/^[1-9]\d{0,9}$/)])
    .default('any')
    .describe('me, none (unassigned), any, or a user id'),
  status: statusFilter.default('unfinished').describe('the kind of status; unfinished is all but closed'),
  status_id: z.coerce.number().int().positive().optional(),
  case_type_id: z.coerce.number().int().positive().optional(),
  priority_id: z.coerce.number().int().positive().optional(),
  customer: z.string().max(50).optional().describe("the customer's number"),
  due: z.enum(['overdue', 'week']).optional(),
  q: z.string().max(500).optional().describe('search, as on the overview: number, title, customer, contact, thread'),
  updated_since: dateTime.optional().describe('only cases with activity after this instant'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
});

const text = (max: number) => z.string().max(max);
export const newCaseBodySchema = z
  .object({
    title: text(200),
    customer_id: id,
    case_type_id: id.optional().describe('default: the first active case type'),
    status_id: id.optional().describe('default: the first open status'),
    priority_id: id.nullable().optional(),
    responsible_id: id.optional().describe('default: the token’s user'),
    due_date: date.nullable().optional(),
    contact_id: id.nullable().optional(),
    contact_name: text(200).nullable().optional(),
    contact_email: text(200).nullable().optional(),
    contact_phone: text(50).nullable().optional(),
    body_html: text(1_000_000).optional().describe('the description as HTML; sanitised with the editor’s allow-list'),
    body_text: text(1_000_000).optional().describe('the description as plain text (used when body_html is absent)'),
  })
  .meta({ id: 'NewCase' });

export const casePatchSchema = z
  .object({
    title: text(200),
    customer_id: id.nullable(),
    case_type_id: id,
    status_id: id.describe('changed through the case lifecycle, with its history and clocks'),
    priority_id: id.nullable(),
    responsible_id: id.nullable(),
    due_date: date.nullable(),
    contact_id: id.nullable(),
    contact_name: text(200).nullable(),
    contact_email: text(200).nullable(),
    contact_phone: text(50).nullable(),
  })
  .partial()
  .meta({ id: 'CasePatch', description: 'The fields to change; the rest keep their values' });

export const caseNumberParams = z.object({ number: z.string().min(1).max(40) });

export const threadEntrySchema = z
  .object({
    id: z.string(),
    side: z.enum(['customer', 'staff', 'system']),
    author_name: z.string(),
    author_email: z.string().nullable(),
    user_id: id.nullable(),
    body_html: z.string(),
    delivery: z.enum(['to_send', 'saved', 'none']),
    created_at: dateTime,
  })
  .meta({ id: 'ThreadEntry' });
export const threadListSchema = z.object({ data: z.array(threadEntrySchema) }).meta({ id: 'ThreadEntryList' });

export const newReplyBodySchema = z
  .object({
    body_html: text(1_000_000).optional(),
    body_text: text(1_000_000).optional().describe('used when body_html is absent'),
    send: z.boolean().default(true).describe('true: mail it to the customer now; false: save it only'),
    to: z.array(z.string().max(200)).max(20).optional().describe("default: the case's contact e-mail"),
    cc: z.array(z.string().max(200)).max(20).optional(),
    document_ids: z
      .array(z.string().regex(/^[1-9]\d{0,18}$/))
      .max(20)
      .optional()
      .describe("the case's documents to attach (upload them first with POST /cases/{number}/documents)"),
    set_waiting: z.boolean().default(false).describe('after sending, the case waits for the customer'),
  })
  .meta({ id: 'NewReply' });
export const replyCreatedSchema = z
  .object({ id: z.string(), delivery: z.enum(['to_send', 'saved']) })
  .meta({ id: 'ReplyCreated' });

export const customerSchema = z
  .object({
    id,
    number: z.string(),
    name: z.string(),
    email_domains: z.array(z.string()),
    active: z.boolean(),
  })
  .meta({ id: 'Customer' });
export const customerListSchema = z.object({ data: z.array(customerSchema) }).meta({ id: 'CustomerList' });
export const customerQuerySchema = z.object({
  q: z.string().max(200).optional(),
  include_inactive: z.enum(['true', 'false']).default('false'),
});
export const customerBodySchema = z
  .object({
    number: text(50),
    name: text(200),
    email_domains: z.array(text(200)).max(50).default([]),
  })
  .meta({ id: 'NewCustomer' });

export const contactSchema = z
  .object({
    id,
    customer_id: id,
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    active: z.boolean(),
  })
  .meta({ id: 'Contact' });
export const contactListSchema = z.object({ data: z.array(contactSchema) }).meta({ id: 'ContactList' });

export const userSchema = z
  .object({
    id,
    login: z.string(),
    name: z.string(),
    initials: z.string(),
    email: z.string().nullable(),
    role: z.enum(['admin', 'agent']),
    active: z.boolean(),
  })
  .meta({ id: 'User' });
export const userListSchema = z.object({ data: z.array(userSchema) }).meta({ id: 'UserList' });
export const meSchema = z
  .object({ user: userSchema, scopes: z.array(z.enum(['read', 'write', 'admin'])) })
  .meta({ id: 'Me' });

export const idParams = z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) });

// The problems any route may answer, for the document (each is sent by src/api/problem.ts).
export const problemResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  422: problemSchema,
  429: problemSchema,
};

// A file itself, as a download answers it (its own content type); the document says so.
export const fileSchema = z.string().meta({ id: 'File', description: 'the file itself, in its own content type' });

// A change that names the version it is based on also answers 412 (changed since) and 428 (no
// If-Match); an upload 413 (too large).
export const versionedProblemResponses = { ...problemResponses, 412: problemSchema, 428: problemSchema };
export const uploadProblemResponses = { ...problemResponses, 413: problemSchema };
