import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type FieldErrors,
  FormError,
  inactiveQuerySchema,
  parseActivation,
  parseForm,
  parseId,
  parseQuery,
  typedValues,
} from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  createRegisterRow,
  type FormValues,
  findRegister,
  findRegisterRow,
  listCells,
  listRegisterRows,
  type Register,
  type RegisterRow,
  rowFormValues,
  setRegisterRowActive,
  typedFormValues,
  updateRegisterRow,
} from './registers.ts';

type SlugParams = { slug: string };
type RowParams = { slug: string; id: string };

function registerOf(request: FastifyRequest<{ Params: SlugParams }>): Register {
  const register = findRegister(request.params.slug);
  if (!register) throw notFound();
  return register;
}

async function loadRow(request: FastifyRequest<{ Params: RowParams }>): Promise<[Register, RegisterRow]> {
  const register = registerOf(request);
  // Ids are serial integers; anything else (or beyond integer range) cannot name a row.
  const id = parseId(request.params.id);
  const row = id === null ? undefined : await findRegisterRow(request.server.deps.db, register, id);
  if (!row) throw notFound();
  return [register, row];
}

function showForm(
  reply: FastifyReply,
  register: Register,
  data: { row?: RegisterRow; values: FormValues; errors: FieldErrors },
  status = 200,
) {
  const { row, ...rest } = data;
  const [firstField] = register.fields;
  const label = row && firstField ? String(row[firstField.name] ?? '') : null;
  const base = `/admin/${register.slug}`;
  return reply.code(status).view('admin/registers/form', {
    ...rest,
    register,
    base,
    // Not `id`: Eta hands the page's data on to included partials, and the field partial reads it.id.
    rowId: row?.id ?? null,
    active: row?.active ?? true,
    label,
    action: row ? `${base}/${row.id}` : base,
  });
}

export async function registerRegisterRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get<{ Params: SlugParams }>('/:slug', async (request, reply) => {
    const register = registerOf(request);
    const includeInactive = parseQuery(inactiveQuerySchema, request.query).inactive === '1';
    const rows = await listRegisterRows(db, register, { includeInactive });
    return reply.view('admin/registers/index', {
      register,
      includeInactive,
      rows: rows.map((row) => ({
        id: row.id,
        active: row.active,
        cells: listCells(register, row, request.t, request.lang),
      })),
    });
  });

  app.get<{ Params: SlugParams }>('/:slug/new', async (request, reply) => {
    const register = registerOf(request);
    return showForm(reply, register, { values: { ...register.defaults }, errors: {} });
  });

  app.post<{ Params: SlugParams }>('/:slug', async (request, reply) => {
    const register = registerOf(request);
    const body = typedValues(request.body);
    const form = parseForm(register.schema, request.body);
    if (!form.ok)
      return showForm(reply, register, { values: typedFormValues(register, body), errors: form.errors }, 422);
    try {
      const row = await createRegisterRow(db, register, form.data);
      return redirectAfterPost(request, reply, `/admin/${register.slug}/${row.id}`, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(reply, register, { values: typedFormValues(register, body), errors: error.fields }, 422);
    }
  });

  app.get<{ Params: RowParams }>('/:slug/:id', async (request, reply) => {
    const [register, row] = await loadRow(request);
    return showForm(reply, register, { row, values: rowFormValues(register, row), errors: {} });
  });

  app.post<{ Params: RowParams }>('/:slug/:id', async (request, reply) => {
    const [register, row] = await loadRow(request);
    const body = typedValues(request.body);
    const form = parseForm(register.schema, request.body);
    if (!form.ok)
      return showForm(reply, register, { row, values: typedFormValues(register, body), errors: form.errors }, 422);
    try {
      const updated = await updateRegisterRow(db, register, row.id, form.data);
      if (!updated) throw notFound();
      return redirectAfterPost(request, reply, `/admin/${register.slug}/${row.id}`, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(reply, register, { row, values: typedFormValues(register, body), errors: error.fields }, 422);
    }
  });

  // Activation is a sub-resource: POST active=1 to activate, active=0 to deactivate.
  app.post<{ Params: RowParams }>('/:slug/:id/activation', async (request, reply) => {
    const [register, row] = await loadRow(request);
    await setRegisterRowActive(db, register, row.id, parseActivation(request.body));
    return redirectAfterPost(request, reply, `/admin/${register.slug}/${row.id}`, request.t('common.saved'));
  });
}
