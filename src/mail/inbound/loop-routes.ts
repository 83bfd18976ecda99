import type { FastifyInstance } from 'fastify';
import { listPossibleLoops } from './queries.ts';

// Administration → Possible loops: mails past the hourly limit from one sender on one case
// (ingest, routing-rules.ts), kept with their case and sender and added nowhere. The raw mail
// downloads from Failed mail's /admin/inbound/:id/raw.
export async function registerPossibleLoopRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;
  app.get('/', async (_request, reply) =>
    reply.view('admin/possible-loops', { messages: await listPossibleLoops(db) }),
  );
}
