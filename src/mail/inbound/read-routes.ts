import type { FastifyInstance } from 'fastify';
import { parseBigId } from '../../forms/form.ts';
import { currentUser } from '../../web/context.ts';
import { notFound } from '../../web/errors.ts';
import { redirectAfterPost, render } from '../../web/render.ts';
import { listMailboxes } from './mailboxes.ts';
import { findMailRead, findRunningMailRead, startMailRead } from './read-mail.ts';

// How often the progress page asks again while the read runs (htmx, or a refresh without JS).
const pollSeconds = 1;

// "Read mail" on demand (the overview's Manage menu), for every member of staff: starts reading
// all active mailboxes in the background, the same way the schedule does, and shows its progress
// and then per mailbox what came in (issue 15, item 11).
export async function registerReadMailRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  // The reads this instance runs: closing the app waits for them, so a mailbox's messages are
  // stored and marked before the database closes (the IMAP timeouts bound the wait).
  const running = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.all(running);
  });

  app.get('/mail/read', async (_request, reply) => {
    const [mailboxes, read] = await Promise.all([listMailboxes(db), findRunningMailRead(db)]);
    return reply.view('mail/read', { mailboxes, read, pollSeconds });
  });

  app.post('/mail/read', async (request, reply) => {
    const read = await startMailRead(db, config, currentUser(request));
    if (read.running) {
      const run = read.running.finally(() => running.delete(run));
      running.add(run);
    }
    const flash = read.started ? undefined : request.t('mailread.joined');
    return redirectAfterPost(request, reply, `/mail/read/runs/${read.id}`, flash);
  });

  // The page, or for htmx's polling only the progress fragment, which stops polling once done.
  app.get<{ Params: { id: string } }>('/mail/read/runs/:id', async (request, reply) => {
    const id = parseBigId(request.params.id);
    const read = id ? await findMailRead(db, id) : undefined;
    if (!read) throw notFound();
    return render(request, reply, { page: 'mail/read/run', fragment: 'mail/read/_progress' }, { read, pollSeconds });
  });
}
