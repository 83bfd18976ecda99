import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseForm, parseQuery } from '../forms/form.ts';
import { safeRedirectTarget } from '../web/redirect.ts';
import { attemptLogin } from './login.ts';

declare module 'fastify' {
  interface Session {
    // the user's session generation at login (src/users/sessions.ts)
    sessionGeneration?: number;
  }
}

// Only same-site paths may follow a login, so the form cannot bounce a user to another site.
const safeNext = (next: unknown) => safeRedirectTarget(next, '/');

// A redirect target is taken as sent or not at all, never tidied into something else.
const loginQuerySchema = z.object({ next: z.string().optional() });
// A user ID or password sent twice is refused, not guessed at.
const loginSchema = z.object({
  login: z.string().max(200, 'errors.too_long').default(''),
  password: z.string().max(1000, 'errors.too_long').default(''),
  next: z.string().optional(),
});

export async function registerLoginRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/login', { config: { public: true } }, async (request, reply) => {
    const next = safeNext(parseQuery(loginQuerySchema, request.query).next);
    if (request.user) return reply.redirect(next, 303);
    return reply.view('users/login', { next, login: '', error: null });
  });

  app.post<{ Body: { login?: string; password?: string; next?: string } }>(
    '/login',
    { config: { public: true } },
    async (request, reply) => {
      const form = parseForm(loginSchema, request.body);
      if (!form.ok) {
        const error = request.t(Object.values(form.errors)[0] ?? 'errors.invalid');
        return reply.code(422).view('users/login', { next: '/', login: '', error });
      }
      const { login, password } = form.data;
      const next = safeNext(form.data.next);
      const result = await attemptLogin(db, { login, password, ip: request.ip });
      if (!result.ok) {
        const error =
          result.reason === 'throttled'
            ? request.t('login.throttled', { minutes: result.retryAfterMinutes })
            : request.t('login.invalid');
        return reply.code(result.reason === 'throttled' ? 429 : 401).view('users/login', { next, login, error });
      }
      // A new session id on login, so a session fixed before login is worthless.
      await request.session.regenerate();
      request.session.userId = result.user.id;
      request.session.sessionGeneration = result.user.session_generation;
      // The new session's CSRF secret, made now: the pages a browser opens at once after the login
      // (restored tabs) would each make one and only the last one saved would hold, so the other
      // pages' forms would be refused.
      reply.generateCsrf();
      return reply.redirect(next, 303);
    },
  );

  app.post('/logout', { config: { public: true } }, async (request, reply) => {
    const language = request.lang;
    await request.session.regenerate();
    request.session.language = language;
    request.session.flash = request.t('login.logged_out');
    return reply.redirect('/login', 303);
  });
}
