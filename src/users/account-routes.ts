import type { FastifyInstance } from 'fastify';
import { languages } from '../web/i18n/i18n.ts';
import { redirectAfterPost } from '../web/render.ts';
import { setUserLanguage } from './users.ts';

export async function registerAccountRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

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
