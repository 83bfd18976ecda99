import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldErrors, FormError, parseForm, parseId, typedValues } from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { categorySchema, createCategory, updateCategory } from './categories.ts';
import { type DocumentFolder, findFolder, listCategories, listStructureOptions } from './queries.ts';

type Body = Record<string, string | undefined>;
type Params = { id: string };

const base = '/admin/document-categories';

function folderValues(folder: DocumentFolder): Body {
  return {
    name: folder.name,
    position: String(folder.position),
    active: folder.active ? 'on' : '',
    approval_structure_id: folder.approval_structure_id === null ? '' : String(folder.approval_structure_id),
  };
}

async function loadFolder(request: FastifyRequest<{ Params: Params }>): Promise<DocumentFolder> {
  const id = parseId(request.params.id);
  const folder = id ? await findFolder(request.server.deps.db, id) : undefined;
  if (!folder) throw notFound();
  return folder;
}

async function showForm(
  request: FastifyRequest,
  reply: FastifyReply,
  data: { folder?: DocumentFolder; values: Body; errors: FieldErrors },
  status = 200,
) {
  const structures = await listStructureOptions(request.server.deps.db, data.folder?.approval_structure_id ?? null);
  return reply.code(status).view('admin/document-categories/form', {
    ...data,
    folder: data.folder ?? null,
    structures,
    action: data.folder ? `${base}/${data.folder.id}` : base,
    base,
  });
}

// Registered under /admin, whose hook admits administrators only.
export async function registerDocumentCategoryRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/', async (_request, reply) =>
    reply.view('admin/document-categories/index', { categories: await listCategories(db), base }),
  );

  app.get('/new', async (request, reply) =>
    showForm(request, reply, { values: { position: '0', active: 'on' }, errors: {} }),
  );

  app.post('/', async (request, reply) => {
    const body = typedValues(request.body);
    const form = parseForm(categorySchema, request.body);
    if (!form.ok) return showForm(request, reply, { values: body, errors: form.errors }, 422);
    try {
      await createCategory(db, form.data);
      return redirectAfterPost(request, reply, base, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(request, reply, { values: body, errors: error.fields }, 422);
    }
  });

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const folder = await loadFolder(request);
    return showForm(request, reply, { folder, values: folderValues(folder), errors: {} });
  });

  app.post<{ Params: Params }>('/:id', async (request, reply) => {
    const folder = await loadFolder(request);
    const body = typedValues(request.body);
    const form = parseForm(categorySchema, request.body);
    if (!form.ok) return showForm(request, reply, { folder, values: body, errors: form.errors }, 422);
    try {
      if (!(await updateCategory(db, folder.id, form.data))) throw notFound();
      return redirectAfterPost(request, reply, base, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(request, reply, { folder, values: body, errors: error.fields }, 422);
    }
  });
}
