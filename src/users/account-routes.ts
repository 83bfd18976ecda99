import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { User } from '../db/schema.ts';
import { type FieldErrors, parseForm, typedValues } from '../forms/form.ts';
import { languages, translator } from '../i18n/i18n.ts';
import { currentUser } from '../web/context.ts';
import { safeRedirectTarget } from '../web/redirect.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  accountSettingsSchema,
  changeOwnPassword,
  passwordChangeSchema,
  saveAccountSettings,
  setUserLanguage,
} from './users.ts';

type Body = Record<string, string | undefined>;

const languageSchema = z.object({
  language: z.enum(languages as ['sv', 'en'], 'errors.invalid'),
  back: z.string().optional(),
});

type PasswordForm = { errors: FieldErrors; notice?: string };

function showSettings(
  reply: FastifyReply,
  user: User,
  values: Body,
  errors: FieldErrors = {},
  status = 200,
  password: PasswordForm = { errors: {} },
) {
  return reply.code(status).view('users/account', { email: user.email, values, errors, password });
}

function storedSettings(user: User): Body {
  return {
    email_on_mention: user.email_on_mention ? 'on' : '',
    email_on_assigned: user.email_on_assigned ? 'on' : '',
    language: user.language ?? '',
  };
}

export async function registerAccountRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  // "My settings": which notifications also come by e-mail, the language, and the password.
  app.get('/account', async (request, reply) => {
    const user = currentUser(request);
    return showSettings(reply, user, storedSettings(user));
  });

  app.post<{ Body: Body }>('/account', async (request, reply) => {
    const user = currentUser(request);
    const form = parseForm(accountSettingsSchema, request.body);
    if (!form.ok) return showSettings(reply, user, typedValues(request.body), form.errors, 422);
    await saveAccountSettings(db, user.id, form.data);
    // The session's choice (made on the login page) must not outlive the user's own.
    request.session.language = form.data.language ?? undefined;
    // Said in the language just chosen, which the next page shows.
    const t = form.data.language ? translator(form.data.language) : request.t;
    return redirectAfterPost(request, reply, '/account', t('common.saved'));
  });

  app.post<{ Body: Body }>('/account/password', async (request, reply) => {
    const user = currentUser(request);
    const showPassword = (password: PasswordForm, status: number) =>
      showSettings(reply, user, storedSettings(user), {}, status, password);
    const form = parseForm(passwordChangeSchema, request.body);
    if (!form.ok) return showPassword({ errors: form.errors }, 422);
    const change = await changeOwnPassword(db, user, form.data, {
      ip: request.ip,
      keepSession: request.session.sessionId,
    });
    if (!change.ok && change.reason === 'throttled') {
      const notice = request.t('login.throttled', { minutes: change.retryAfterMinutes });
      return showPassword({ errors: {}, notice }, 429);
    }
    if (!change.ok) return showPassword({ errors: { current_password: 'errors.current_password_wrong' } }, 422);
    // A new session id as well: a copy of this session's cookie, taken before, is worthless now.
    await request.session.regenerate(['userId', 'language']);
    request.session.sessionGeneration = change.sessionGeneration;
    return redirectAfterPost(request, reply, '/account', request.t('account.password_changed'));
  });

  // The user's own language choice; also offered on the login page, where it lives in the session.
  app.post<{ Body: { language?: string; back?: string } }>(
    '/account/language',
    { config: { public: true } },
    async (request, reply) => {
      const form = parseForm(languageSchema, request.body);
      if (!form.ok) return reply.code(400).send(request.t(Object.values(form.errors)[0] ?? 'errors.invalid'));
      const { language } = form.data;
      if (request.user) await setUserLanguage(db, request.user.id, language);
      request.session.language = language;
      return redirectAfterPost(request, reply, safeRedirectTarget(form.data.back, '/'));
    },
  );
}
