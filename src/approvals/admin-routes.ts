import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldErrors, FormError, parseForm, parseId } from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  applyStepOperation,
  findStructureValues,
  listStructures,
  loadStructureFormOptions,
  parseStepOperation,
  type StructureValues,
  saveStructure,
  structureFormSchema,
  structureValuesFromForm,
} from './structures.ts';

type IdParams = { id: string };

const base = '/admin/approval-structures';

// Under /admin (registered in src/admin/routes.ts), so administrators only.
export async function registerApprovalStructureRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  const showForm = async (
    reply: FastifyReply,
    data: { id: number | null; values: StructureValues; errors: FieldErrors },
    status = 200,
  ) => {
    const options = await loadStructureFormOptions(db, data.values);
    return reply.code(status).view('admin/approvals/form', {
      ...data,
      structureId: data.id,
      options,
      action: data.id ? `${base}/${data.id}` : base,
    });
  };

  const idOf = (request: FastifyRequest<{ Params: IdParams }>) => {
    const id = parseId(request.params.id);
    if (!id) throw notFound();
    return id;
  };

  // A step button (add, remove, move) shows the changed form unsaved; Save saves it.
  const submit = async (request: FastifyRequest, reply: FastifyReply, id: number | null) => {
    const form = parseForm(structureFormSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    const values = structureValuesFromForm(form.data);
    const operation = parseStepOperation(form.data.op);
    if (operation) return showForm(reply, { id, values: applyStepOperation(values, operation), errors: {} });
    try {
      await saveStructure(db, id, values);
    } catch (error) {
      if (error instanceof FormError) return showForm(reply, { id, values, errors: error.fields }, 422);
      throw error;
    }
    const flash = request.t(id ? 'admin.approvals.saved' : 'admin.approvals.created', { name: values.name });
    return redirectAfterPost(request, reply, base, flash);
  };

  app.get('/', async (_request, reply) =>
    reply.view('admin/approvals/index', { structures: await listStructures(db) }),
  );

  app.get('/new', async (_request, reply) =>
    showForm(reply, { id: null, values: { name: '', active: true, steps: [[]], folderIds: [] }, errors: {} }),
  );

  app.post('/', async (request, reply) => submit(request, reply, null));

  app.get<{ Params: IdParams }>('/:id', async (request, reply) => {
    const id = idOf(request);
    const values = await findStructureValues(db, id);
    if (!values) throw notFound();
    return showForm(reply, { id, values, errors: {} });
  });

  app.post<{ Params: IdParams }>('/:id', async (request, reply) => {
    const id = idOf(request);
    if (!(await findStructureValues(db, id))) throw notFound();
    return submit(request, reply, id);
  });
}
