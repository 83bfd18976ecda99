import type { FastifyInstance } from 'fastify';

export async function registerCustomerAdminRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => reply.send('todo'));
}
