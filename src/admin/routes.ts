import type { FastifyInstance } from 'fastify';
import { registerCustomerAdminRoutes } from '../customers/routes.ts';
import { registerUserAdminRoutes } from '../users/admin-routes.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { registerRegisterRoutes } from './register-routes.ts';
import { registers } from './registers.ts';

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
  await app.register(registerRegisterRoutes);
}
