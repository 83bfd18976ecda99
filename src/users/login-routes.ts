import type { FastifyInstance } from 'fastify';
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

export async function registerLoginRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get<{ Querystring: { next?: string } }>('/login', { config: { public: true } }, async (request, reply) => {
    if (request.user) return reply.redirect(safeNext(request.query.next), 303);
    return reply.view('users/login', { next: safeNext(request.query.next), login: '', error: null });
  });

  app.post<{ Body: { login?: string; password?: string; next?: string } }>(
    '/login',
    { config: { public: true } },
    async (request, reply) => {
      const login = String(request.body?.login ?? '');
      const password = String(request.body?.password ?? '');
      const next = safeNext(request.body?.next);
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
