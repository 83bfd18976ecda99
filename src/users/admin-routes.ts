import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { User } from '../db/schema.ts';
import {
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
import { findUserById, listUsers } from './queries.ts';
import { createUser, setUserActive, setUserPassword, updateUser, userSchema } from './users.ts';

// The new-user form also sets the first password (checked by createUser), the password form only that.
const passwordFormSchema = z.object({ password: z.string().default('') });
const newUserSchema = userSchema.extend(passwordFormSchema.shape);

type Body = Record<string, string | undefined>;
type Params = { id: string };

function formValues(user: User): Body {
  return {
    login: user.login,
    name: user.name,
    initials: user.initials,
    email: user.email ?? '',
    role: user.role,
    language: user.language ?? '',
    active: user.active ? '1' : '0',
  };
}

function showForm(
  reply: FastifyReply,
  data: { id?: number; values: Body; errors: Record<string, string> },
  status = 200,
) {
  return reply.code(status).view('users/form', data);
}

async function loadUser(request: FastifyRequest<{ Params: Params }>) {
  const id = parseId(request.params.id);
  const user = id ? await findUserById(request.server.deps.db, id) : undefined;
  if (!user) throw notFound();
  return user;
}

export async function registerUserAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/', async (request, reply) => {
    const includeInactive = parseQuery(inactiveQuerySchema, request.query).inactive === '1';
    return reply.view('users/index', { users: await listUsers(db, { includeInactive }), includeInactive });
  });

  app.get('/new', async (_request, reply) => showForm(reply, { values: { role: 'agent' }, errors: {} }));

  app.post('/', async (request, reply) => {
    const values = typedValues(request.body);
    const form = parseForm(newUserSchema, request.body);
    if (!form.ok) return showForm(reply, { values, errors: form.errors }, 422);
    try {
      const { password, ...input } = form.data;
      const user = await createUser(db, input, password);
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError) return showForm(reply, { values, errors: error.fields }, 422);
      throw error;
    }
  });

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const user = await loadUser(request);
    return showForm(reply, { id: user.id, values: formValues(user), errors: {} });
  });

  app.post<{ Params: Params }>('/:id', async (request, reply) => {
    const user = await loadUser(request);
    const values = typedValues(request.body);
    const form = parseForm(userSchema, request.body);
    if (!form.ok) return showForm(reply, { id: user.id, values, errors: form.errors }, 422);
    try {
      await updateUser(db, user.id, form.data, request.user?.id);
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError) return showForm(reply, { id: user.id, values, errors: error.fields }, 422);
      throw error;
    }
  });

  app.post<{ Params: Params }>('/:id/password', async (request, reply) => {
    const user = await loadUser(request);
    try {
      const form = parseForm(passwordFormSchema, request.body);
      if (!form.ok) throw new FormError(form.errors);
      const own = user.id === request.user?.id;
      const { sessionGeneration } = await setUserPassword(
        db,
        user.id,
        form.data.password,
        own ? request.session.sessionId : undefined,
      );
      if (own) request.session.sessionGeneration = sessionGeneration;
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('users.password_set'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(reply, { id: user.id, values: formValues(user), errors: error.fields }, 422);
    }
  });

  // Activation is a sub-resource: POST active=1 to activate, active=0 to deactivate.
  app.post<{ Params: Params }>('/:id/activation', async (request, reply) => {
    const user = await loadUser(request);
    const active = parseActivation(request.body);
    try {
      await setUserActive(db, user.id, active, config, request.user?.id);
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      request.session.flash = request.t(error.messageKey);
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`);
    }
    if (!active) app.deps.mailSender?.kick();
    return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
  });
}
