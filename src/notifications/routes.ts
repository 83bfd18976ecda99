import type { FastifyInstance } from 'fastify';
import { parseBigId } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { safeRedirectTarget } from '../web/redirect.ts';
import { listNotifications, markNotificationRead } from './notifications.ts';

export async function registerNotificationRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/notifications', async (request, reply) => {
    const notifications = await listNotifications(db, currentUser(request).id);
    return reply.view('notifications/index', { notifications });
  });

  // Following a notification marks it read, then opens what it points at.
  app.post<{ Params: { id: string } }>('/notifications/:id/read', async (request, reply) => {
    const id = parseBigId(request.params.id);
    const link = id ? await markNotificationRead(db, currentUser(request).id, id) : null;
    if (!link) throw notFound();
    return reply.redirect(safeRedirectTarget(link, '/notifications'), 303);
  });
}
