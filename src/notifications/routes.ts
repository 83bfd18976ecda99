import type { FastifyInstance } from 'fastify';
import { parseBigId } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { safeRedirectTarget } from '../web/redirect.ts';
import { redirectAfterPost } from '../web/render.ts';
import { countUnread, listNotifications, markAllNotificationsRead, markNotificationRead } from './notifications.ts';

export async function registerNotificationRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/notifications', async (request, reply) => {
    const notifications = await listNotifications(db, currentUser(request).id);
    return reply.view('notifications/index', { notifications });
  });

  // The bell alone, as the header shows it: fetched by public/live.js when the user's bell changed.
  app.get('/notifications/bell', async (request, reply) => {
    const unreadCount = await countUnread(db, currentUser(request).id);
    reply.header('Cache-Control', 'no-store');
    return reply.view('partials/_bell', { unreadCount });
  });

  // "Mark all as read": the user's own bell only; a second click finds nothing unread and says so
  // again, harmlessly.
  app.post('/notifications/read', async (request, reply) => {
    await markAllNotificationsRead(db, currentUser(request).id);
    return redirectAfterPost(request, reply, '/notifications', request.t('notifications.all_marked_read'));
  });

  // Following a notification marks it read, then opens what it points at.
  app.post<{ Params: { id: string } }>('/notifications/:id/read', async (request, reply) => {
    const id = parseBigId(request.params.id);
    const link = id ? await markNotificationRead(db, currentUser(request).id, id) : null;
    if (!link) throw notFound();
    return reply.redirect(safeRedirectTarget(link, '/notifications'), 303);
  });
}
