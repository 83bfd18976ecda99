import type { FastifyInstance } from 'fastify';
import { redirectAfterPost } from '../../web/render.ts';
import { type ReadReport, readAllMailboxes } from './fetch.ts';
import { listMailboxes } from './mailboxes.ts';

declare module 'fastify' {
  interface Session {
    // What the last "Read mail" of this session did, shown once on /mail/read after the redirect.
    mailReadReports?: ReadReport[];
  }
}

// "Read mail" on demand (the overview's Manage menu), for every member of staff: reads all active
// mailboxes now, the same way the schedule does, and reports per mailbox what came in.
export async function registerReadMailRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/mail/read', async (request, reply) => {
    const reports = request.session.mailReadReports ?? null;
    if (reports) request.session.mailReadReports = undefined;
    const mailboxes = await listMailboxes(db);
    return reply.view('mail/read', { reports, mailboxes });
  });

  app.post('/mail/read', async (request, reply) => {
    request.session.mailReadReports = await readAllMailboxes(db, config);
    return redirectAfterPost(request, reply, '/mail/read');
  });
}
