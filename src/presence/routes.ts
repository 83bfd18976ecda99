import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { loadCase } from '../case-page/page.ts';
import { findCaseRef } from '../cases/queries.ts';
import { checkbox, FormError, parseForm } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { isHtmx, render } from '../web/render.ts';
import { leaveCase, recordHeartbeat } from './presence.ts';
import { listCaseViewers } from './queries.ts';

type NumberParams = { number: string };

// page: the page load's own random name (public/presence.js); typing: its reply box is being written in
const pageField = z
  .string('errors.invalid')
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'errors.invalid')
  .optional();
const heartbeatSchema = z.object({ typing: checkbox, page: pageField });
const leaveSchema = z.object({ page: pageField });

// Presence on the case page (issue 18, part 1): public/presence.js sends a heartbeat while the
// page is open and visible, and says when the user writes in the reply box and when they leave;
// the page polls the fragment of who else is here. The rights are those of seeing the case: a
// signed-in user may see any case that exists, and a missing one answers 404. None of it is
// history: a heartbeat writes only its own row of case_viewers.
export async function registerPresenceRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;
  // the case's id by its number: each open case page polls every second, so no more than that
  const caseOf = async (request: { params: NumberParams }) => {
    const kase = await findCaseRef(db, request.params.number);
    if (!kase) throw notFound();
    return kase;
  };

  app.get<{ Params: NumberParams }>('/cases/:number/presence', async (request, reply) => {
    // the polled fragment needs the case's id only; the page without htmx shows its title too
    const kase = isHtmx(request) ? await caseOf(request) : await loadCase(request);
    const viewers = await listCaseViewers(db, kase.id, currentUser(request).id);
    // who is here changes by the second: never from a cache
    reply.header('Cache-Control', 'no-store');
    return render(
      request,
      reply,
      { page: 'presence/case-viewers', fragment: 'presence/_case-viewers' },
      { kase, viewers, title: kase.number },
    );
  });

  app.post<{ Params: NumberParams }>('/cases/:number/presence', async (request, reply) => {
    const kase = await caseOf(request);
    const form = parseForm(heartbeatSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    await recordHeartbeat(db, {
      caseId: kase.id,
      userId: currentUser(request).id,
      typing: form.data.typing,
      pageId: form.data.page ?? null,
    });
    return reply.header('Cache-Control', 'no-store').code(204).send();
  });

  // Sent by navigator.sendBeacon when the page is left: the token comes as the form's _csrf field.
  app.post<{ Params: NumberParams }>('/cases/:number/presence/removal', async (request, reply) => {
    const kase = await caseOf(request);
    const form = parseForm(leaveSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    await leaveCase(db, kase.id, currentUser(request).id, form.data.page ?? null);
    return reply.header('Cache-Control', 'no-store').code(204).send();
  });
}
