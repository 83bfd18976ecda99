import type { FastifyInstance, FastifyReply } from 'fastify';
import type { User } from '../db/schema.ts';
import { currentUser } from '../web/context.ts';
import { type FieldErrors, parseForm } from '../web/form.ts';
import { languages, translator } from '../web/i18n/i18n.ts';
import { redirectAfterPost } from '../web/render.ts';
import { accountSettingsSchema, saveAccountSettings, setUserLanguage } from './users.ts';

type Body = Record<string, string | undefined>;

function showSettings(reply: FastifyReply, user: User, values: Body, errors: FieldErrors = {}, status = 200) {
  return reply.code(status).view('users/account', { email: user.email, values, errors });
}

export async function registerAccountRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  // "My settings": which notifications also come by e-mail, and the language.
  app.get('/account', async (request, reply) => {
    const user = currentUser(request);
    return showSettings(reply, user, {
      email_on_mention: user.email_on_mention ? 'on' : '',
      email_on_assigned: user.email_on_assigned ? 'on' : '',
      language: user.language ?? '',
    });
  });

  app.post<{ Body: Body }>('/account', async (request, reply) => {
    const user = currentUser(request);
    const form = parseForm(accountSettingsSchema, request.body);
    if (!form.ok) return showSettings(reply, user, request.body ?? {}, form.errors, 422);
    await saveAccountSettings(db, user.id, form.data);
    // The session's choice (made on the login page) must not outlive the user's own.
    request.session.language = form.data.language ?? undefined;
    // Said in the language just chosen, which the next page shows.
    const t = form.data.language ? translator(form.data.language) : request.t;
    return redirectAfterPost(request, reply, '/account', t('common.saved'));
  });

  // The user's own language choice; also offered on the login page, where it lives in the session.
  app.post<{ Body: { language?: string; back?: string } }>(
    '/account/language',
    { config: { public: true } },
    async (request, reply) => {
      const language = languages.find((l) => l === request.body?.language);
      if (!language) return reply.code(400).send(request.t('errors.invalid'));
      if (request.user) await setUserLanguage(db, request.user.id, language);
      request.session.language = language;
      const back = request.body?.back;
      return redirectAfterPost(request, reply, typeof back === 'string' && /^\/(?!\/)/.test(back) ? back : '/');
    },
  );
}
