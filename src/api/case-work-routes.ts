import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StaleNoteError, saveInternalNote } from '../cases/internal-note.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import { addDiscussionPost, listDiscussionPosts } from '../discussions/discussions.ts';
import { FormError, parseForm } from '../forms/form.ts';
import { plainTextToHtml } from '../rich-text/escape.ts';
import { currentUser } from '../web/context.ts';
import { createProject, type Project, projectSchema as projectFormSchema } from '../work-orders/projects.ts';
import { listProjects } from '../work-orders/queries.ts';
import { createWorkOrderFromCase, workOrderFromCaseSchema } from '../work-orders/work-orders.ts';
import { problem } from './problem.ts';
import { caseFromPath, idempotencyKeyOf, versionOf } from './request.ts';
import { caseNumberParams, problemResponses, versionedProblemResponses } from './schemas.ts';

// A case's internal side through the API: the discussion between colleagues (with @mentions),
// the internal note, and the work order made from the case (H2) on a project. Each goes through the same
// domain function as its page.

const postSchema = z
  .object({
    id: z.string(),
    user_id: z.number().int(),
    writer_login: z.string(),
    writer_name: z.string(),
    body_html: z.string(),
    created_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'DiscussionPost' });
const postListSchema = z.object({ data: z.array(postSchema) }).meta({ id: 'DiscussionPostList' });
const newPostSchema = z
  .object({
    body_html: z.string().max(1_000_000).optional(),
    body_text: z
      .string()
      .max(1_000_000)
      .optional()
      .describe('used when body_html is absent; @LOGIN mentions a colleague'),
  })
  .meta({ id: 'NewDiscussionPost' });
const noteSchema = z
  .object({
    text: z.string(),
    version: z.number().int().describe('also the ETag; send it in If-Match to change the note'),
  })
  .meta({ id: 'InternalNote' });
const notePutSchema = z.object({ text: z.string().max(100_000) }).meta({ id: 'InternalNoteChange' });
const workOrderBodySchema = z
  .object({
    project_id: z.number().int().positive(),
    name: z.string().max(200),
    responsible_id: z.number().int().positive().nullable().optional(),
  })
  .meta({ id: 'NewWorkOrder' });
const projectSchema = z
  .object({
    id: z.number().int(),
    number: z.string(),
    name: z.string(),
    customer_id: z.number().int().nullable(),
    responsible_id: z.number().int().nullable(),
    active: z.boolean(),
  })
  .meta({ id: 'Project' });
const projectListSchema = z.object({ data: z.array(projectSchema) }).meta({ id: 'ProjectList' });
const projectBodySchema = z
  .object({
    name: z.string().max(200),
    number: z.string().max(32).optional(),
    customer_id: z.number().int().positive().nullable().optional(),
    responsible_id: z.number().int().positive().nullable().optional(),
  })
  .meta({ id: 'NewProject' });
const asProject = (p: Omit<Project, 'version'>) => ({
  id: p.id,
  number: p.number,
  name: p.name,
  customer_id: p.customer_id,
  responsible_id: p.responsible_id,
  active: p.active,
});
const workOrderSchema = z
  .object({
    id: z.number().int(),
    number: z.string(),
    created: z.boolean().describe('false: the case already had this open one'),
  })
  .meta({ id: 'WorkOrderCreated' });

export async function registerApiCaseWorkRoutes(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { db, config } = app.deps;

  const findCase = (number: string) => caseFromPath(db, number);

  api.get(
    '/cases/:number/discussion',
    {
      schema: {
        tags: ['Discussion'],
        summary: "List a case's discussion",
        description: 'Posts between colleagues, newest first; never shown to the customer.',
        params: caseNumberParams,
        response: { 200: postListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const kase = await findCase(request.params.number);
      const posts = await listDiscussionPosts(db, kase.id);
      return {
        data: posts.map((p) => ({
          id: String(p.id),
          user_id: p.user_id,
          writer_login: p.writer_login,
          writer_name: p.writer_name,
          body_html: p.body_html,
          created_at: p.created_at.toISOString(),
        })),
      };
    },
  );

  api.post(
    '/cases/:number/discussion',
    {
      schema: {
        tags: ['Discussion'],
        summary: 'Post in the discussion',
        description: 'Colleagues named as @LOGIN are notified. With an Idempotency-Key, a repeat gets the first post.',
        params: caseNumberParams,
        body: newPostSchema,
        response: { 201: z.object({ id: z.string() }).meta({ id: 'Created' }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const formKey = idempotencyKeyOf(request);
      const kase = await findCase(request.params.number);
      const b = request.body;
      const { post, mentionedUserIds } = await addDiscussionPost(
        db,
        kase.id,
        b.body_html ?? plainTextToHtml(b.body_text ?? ''),
        currentUser(request),
        { config, formKey },
      );
      if (mentionedUserIds.length) app.deps.mailSender?.kick();
      return reply.code(201).send({ id: String(post.id) });
    },
  );

  api.get(
    '/cases/:number/internal-note',
    {
      schema: {
        tags: ['Internal note'],
        summary: "Get a case's internal note",
        params: caseNumberParams,
        response: { 200: noteSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const kase = await findCase(request.params.number);
      reply.header('etag', `"${kase.internal_note_version}"`);
      return { text: kase.internal_note, version: kase.internal_note_version };
    },
  );

  api.put(
    '/cases/:number/internal-note',
    {
      schema: {
        tags: ['Internal note'],
        summary: "Replace a case's internal note",
        description: 'Send If-Match with the version it is based on; a note saved since answers 412.',
        params: caseNumberParams,
        body: notePutSchema,
        headers: z.object({ 'if-match': z.string().max(50).optional() }),
        response: { 200: noteSchema, ...versionedProblemResponses },
      },
    },
    async (request, reply) => {
      const version = versionOf(request.headers['if-match'], 'the note');
      const kase = await findCase(request.params.number);
      try {
        const saved = await saveInternalNote(db, kase.id, version, request.body.text, currentUser(request));
        reply.header('etag', `"${saved}"`);
        const fresh = await findCase(kase.number);
        return { text: fresh.internal_note, version: saved };
      } catch (error) {
        if (error instanceof StaleNoteError)
          throw problem(412, `The note was saved by someone since; it is at version ${error.currentVersion} now.`, {
            headers: { etag: `"${error.currentVersion}"` },
          });
        throw error;
      }
    },
  );

  api.post(
    '/cases/:number/work-order',
    {
      schema: {
        tags: ['Work orders'],
        summary: 'Make a work order from a case',
        description:
          'As "To work order" on the case page: the case gets the work order status. A case with an open work order gets that one back (created: false).',
        params: caseNumberParams,
        body: workOrderBodySchema,
        response: { 200: workOrderSchema, 201: workOrderSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const formKey = idempotencyKeyOf(request);
      const kase = await findCase(request.params.number);
      const b = request.body;
      const form = parseForm(workOrderFromCaseSchema, {
        project_id: String(b.project_id),
        name: b.name,
        responsible_id: b.responsible_id ? String(b.responsible_id) : '',
      });
      if (!form.ok) throw new FormError(form.errors);
      const { workOrder, created } = await createWorkOrderFromCase(db, kase.id, form.data, currentUser(request), {
        formKey,
      });
      return reply.code(created ? 201 : 200).send({ id: workOrder.id, number: workOrder.number, created });
    },
  );

  api.get(
    '/projects',
    {
      schema: {
        tags: ['Work orders'],
        summary: 'Search projects',
        description: 'Active projects whose number or name holds q, at most 50; a work order is made on one.',
        querystring: z.object({ q: z.string().max(200).optional() }),
        response: { 200: projectListSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { projects } = await listProjects(db, {
        q: request.query.q ?? '',
        customer: '',
        active: 'active',
        page: 1,
      });
      return { data: projects.map(asProject) };
    },
  );

  api.post(
    '/projects',
    {
      schema: {
        tags: ['Work orders'],
        summary: 'Create a project',
        description:
          'Without number, the next of the projects series. With an Idempotency-Key, a repeat gets the first project.',
        body: projectBodySchema,
        response: { 201: projectSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const formKey = idempotencyKeyOf(request);
      const b = request.body;
      const form = parseForm(projectFormSchema, {
        number: b.number ?? '',
        name: b.name,
        customer_id: b.customer_id ? String(b.customer_id) : '',
        responsible_id: b.responsible_id ? String(b.responsible_id) : '',
        active: 'on',
      });
      if (!form.ok) throw new FormError(form.errors);
      const project = await db
        .transaction()
        .execute((trx) =>
          oncePerFormKey(trx, { key: formKey, userId: user.id, form: 'api-project', content: form.data }, () =>
            createProject(trx, form.data, user),
          ),
        );
      return reply.code(201).send(asProject(project));
    },
  );
}
