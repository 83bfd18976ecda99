import type { FastifyInstance } from 'fastify';
import { parseBigId } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { findKontrollRun, previewKontroll, runKontroll } from './kontroll.ts';
import { loadKontrollSettings } from './settings.ts';

// How many cases of each kind the pages list; the counts are always complete.
const listed = 200;

// Kontroll on demand (the overview's Manage menu), for every member of staff: first the preview,
// then the run, then what it did.
export async function registerKontrollRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/kontroll', async (_request, reply) => {
    const preview = await previewKontroll(db, await loadKontrollSettings(db), new Date());
    return reply.view('kontroll/preview', { preview, listed });
  });

  app.post('/kontroll', async (request, reply) => {
    const outcome = await runKontroll(db, config, { actor: currentUser(request) });
    if (outcome.status === 'busy') return redirectAfterPost(request, reply, '/kontroll', request.t('kontroll.busy'));
    app.deps.mailSender?.kick();
    return redirectAfterPost(request, reply, `/kontroll/runs/${outcome.runId}`);
  });

  app.get<{ Params: { id: string } }>('/kontroll/runs/:id', async (request, reply) => {
    const id = parseBigId(request.params.id);
    const summary = id ? await findKontrollRun(db, id, listed) : null;
    if (!summary) throw notFound();
    return reply.view('kontroll/run', { summary, listed });
  });
}
