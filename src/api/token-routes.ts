import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { oncePerFormKey } from '../db/form-keys.ts';
import { type FieldErrors, FormError, parseForm, parseId, typedValues } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import { levelOfScopes } from './scopes.ts';
import { createApiToken, listApiTokens, newTokenSchema, revokeApiToken, tokenExpiryDays } from './tokens.ts';

type Body = Record<string, string | undefined>;
type Shown = { token?: string; repeated?: boolean };

async function showTokens(
  request: FastifyRequest,
  reply: FastifyReply,
  opts: { values?: Body; errors?: FieldErrors; status?: number; created?: Shown } = {},
) {
  const user = currentUser(request);
  const tokens = await listApiTokens(request.server.deps.db, user.id);
  return reply.code(opts.status ?? 200).view('api/tokens', {
    tokens: tokens.map((t) => ({ ...t, access: levelOfScopes(t.scopes) })),
    isAdmin: user.role === 'admin',
    expiryDays: tokenExpiryDays,
    values: opts.values ?? { access: 'read', expires_in_days: '90' },
    errors: opts.errors ?? {},
    created: opts.created ?? {},
    now: new Date(),
  });
}

// My settings → API tokens: make a token (shown once), see when each was last used, revoke one.
export async function registerTokenRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/account/tokens', async (request, reply) => showTokens(request, reply));

  app.post<{ Body: Body }>('/account/tokens', async (request, reply) => {
    const user = currentUser(request);
    const values = typedValues(request.body);
    const form = parseForm(newTokenSchema, request.body);
    if (!form.ok) return showTokens(request, reply, { values, errors: form.errors, status: 422 });
    const formKey = formKeyOf(request.body);
    try {
      // The token is in the answer only: a second submit of the same form (a double click, a
      // reload) gets the first's token id and is told the token was already shown, not a second.
      let token: string | undefined;
      await db.transaction().execute((trx) =>
        oncePerFormKey(trx, { key: formKey, userId: user.id, form: 'api-token', content: form.data }, async () => {
          const created = await createApiToken(trx, user, form.data);
          token = created.token;
          return { id: created.id };
        }),
      );
      return showTokens(request, reply, { status: token ? 201 : 200, created: { token, repeated: !token } });
    } catch (error) {
      if (error instanceof FormError) return showTokens(request, reply, { values, errors: error.fields, status: 422 });
      throw error;
    }
  });

  app.post<{ Params: { id: string } }>('/account/tokens/:id/revocation', async (request, reply) => {
    const id = parseId(request.params.id);
    if (!id || !(await revokeApiToken(db, currentUser(request).id, id))) throw notFound();
    return redirectAfterPost(request, reply, '/account/tokens', request.t('api.token_revoked'));
  });
}
