import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { User } from '../db/schema.ts';
import { notFound } from '../web/errors.ts';
import { FormError, parseForm } from '../web/form.ts';
import { redirectAfterPost } from '../web/render.ts';
import { findUserById, listUsers } from './queries.ts';
import { createUser, setUserActive, setUserPassword, updateUser, userSchema } from './users.ts';

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
  const user = await findUserById(request.server.deps.db, Number(request.params.id) || 0);
  if (!user) throw notFound();
  return user;
}

export async function registerUserAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get<{ Querystring: { inactive?: string } }>('/', async (request, reply) => {
    const includeInactive = request.query.inactive === '1';
    return reply.view('users/index', { users: await listUsers(db, { includeInactive }), includeInactive });
  });

  app.get('/new', async (_request, reply) => showForm(reply, { values: { role: 'agent' }, errors: {} }));

  app.post<{ Body: Body }>('/', async (request, reply) => {
    const form = parseForm(userSchema, request.body);
    if (!form.ok) return showForm(reply, { values: request.body, errors: form.errors }, 422);
    try {
      const user = await createUser(db, form.data, request.body.password ?? '');
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError) return showForm(reply, { values: request.body, errors: error.fields }, 422);
      throw error;
    }
  });

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const user = await loadUser(request);
    return showForm(reply, { id: user.id, values: formValues(user), errors: {} });
  });

  app.post<{ Params: Params; Body: Body }>('/:id', async (request, reply) => {
    const user = await loadUser(request);
    const form = parseForm(userSchema, request.body);
    if (!form.ok) return showForm(reply, { id: user.id, values: request.body, errors: form.errors }, 422);
    try {
      await updateUser(db, user.id, form.data);
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
    } catch (error) {
      if (error instanceof FormError)
        return showForm(reply, { id: user.id, values: request.body, errors: error.fields }, 422);
      throw error;
    }
  });

  app.post<{ Params: Params; Body: Body }>('/:id/password', async (request, reply) => {
    const user = await loadUser(request);
    try {
      const own = user.id === request.user?.id;
      const { sessionGeneration } = await setUserPassword(
        db,
        user.id,
        request.body.password ?? '',
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
  app.post<{ Params: Params; Body: Body }>('/:id/activation', async (request, reply) => {
    const user = await loadUser(request);
    const active = request.body.active === '1';
    if (!active && user.id === request.user?.id) {
      request.session.flash = request.t('users.cannot_deactivate_self');
      return redirectAfterPost(request, reply, `/admin/users/${user.id}`);
    }
    await setUserActive(db, user.id, active, config);
    if (!active) app.deps.mailSender?.kick();
    return redirectAfterPost(request, reply, `/admin/users/${user.id}`, request.t('common.saved'));
  });
}
