import type { FastifyInstance } from 'fastify';
import { registerApprovalStructureRoutes } from '../approvals/admin-routes.ts';
import { registerCustomerAdminRoutes } from '../customers/routes.ts';
import { registerDocumentCategoryRoutes } from '../documents/category-routes.ts';
import { registerKontrollSettingsRoutes } from '../kontroll/settings-routes.ts';
import { registerMailAdminRoutes } from '../mail/admin-routes.ts';
import { registerInboundAdminRoutes } from '../mail/inbound/admin-routes.ts';
import { registerPossibleLoopRoutes } from '../mail/inbound/loop-routes.ts';
import { registerMailboxRoutes } from '../mail/inbound/mailbox-routes.ts';
import { registerBusinessHoursRoutes, registerServiceLevelRoutes } from '../service-levels/admin-routes.ts';
import { swedishHolidayList } from '../service-levels/holidays.ts';
import { registerUserAdminRoutes } from '../users/admin-routes.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { registerWebhookRoutes } from '../webhooks/routes.ts';
import { registerRegisterRoutes } from './register-routes.ts';
import { registers } from './registers.ts';
import { registerSettingsRoutes } from './settings-routes.ts';

// Everything under /admin is for administrators only; this hook is the single gate.
export async function registerAdminRoutes(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if (request.user?.role !== 'admin') throw forbidden();
  });
  // Unknown /admin URLs answer 403 to non-admins too, so they cannot probe what exists.
  app.setNotFoundHandler(async (request) => {
    throw request.user?.role === 'admin' ? notFound() : forbidden();
  });

  app.get('/', async (_request, reply) => reply.view('admin/index', { registers }));
  await app.register(registerUserAdminRoutes, { prefix: '/users' });
  await app.register(registerCustomerAdminRoutes, { prefix: '/customers' });
  await app.register(registerDocumentCategoryRoutes, { prefix: '/document-categories' });
  await app.register(registerInboundAdminRoutes, { prefix: '/inbound' });
  await app.register(registerPossibleLoopRoutes, { prefix: '/possible-loops' });
  await app.register(registerMailAdminRoutes);
  await app.register(registerMailboxRoutes, { prefix: '/mailboxes' });
  await app.register(registerSettingsRoutes);
  await app.register(registerKontrollSettingsRoutes);
  await app.register(registerApprovalStructureRoutes, { prefix: '/approval-structures' });
  // Given { holidays } ((from, to, eves) => named days, from src/service-levels/holidays.ts), a
  // calendar's page also lists the holidays it closes on, by name; without, it leaves that list out.
  await app.register(registerBusinessHoursRoutes, {
    prefix: '/business-hours',
    holidays: swedishHolidayList,
  });
  await app.register(registerServiceLevelRoutes, { prefix: '/service-levels' });
  await app.register(registerWebhookRoutes, { prefix: '/webhooks' });
  await app.register(registerRegisterRoutes);
}
