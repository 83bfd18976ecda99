import type { FastifyInstance } from 'fastify';

export async function registerHomeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => reply.view('home/index', {}));
}
