import type { FastifyInstance } from 'fastify';
import { listCasesChangedSince } from '../cases/queries.ts';
import { changeFeedOf } from '../db/database.ts';
import { currentUser } from '../web/context.ts';
import { parseLivePayload } from './events.ts';
import { format, LiveStreams } from './streams.ts';

// How far back a reconnecting page is told what changed: longer than that, it reloads its lists.
const catchUpMs = 10 * 60_000;
// Clocks of instances and of the database differ a little: what changed just before the last
// event counts as missed too (a row refreshed twice costs nothing).
const skewMs = 5_000;
const catchUpCases = 100;

// GET /events: the signed-in user's Server-Sent Events (issue 18, part 2). Every instance listens
// on one connection (the change feed's) and streams what it hears to its own browsers: which
// cases changed (the overview fetches those rows and the tiles), and that the user's bell
// changed. A browser that lost the stream reconnects by itself with the id of the last event it
// had (Last-Event-ID), and hears at once what changed since.
export async function registerLiveRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;
  const streams = new LiveStreams();
  const feed = changeFeedOf(db);
  const unsubscribe = feed?.subscribeLive((payload) => {
    const event = parseLivePayload(payload);
    if (event) streams.dispatch(event);
  });
  app.addHook('onClose', async () => {
    unsubscribe?.();
    streams.closeAll();
  });

  app.get<{ Querystring: { since?: string } }>('/events', async (request, reply) => {
    const user = currentUser(request);
    // only an EventSource (which asks for text/event-stream) gets the endless stream; a page
    // opened on this address, or any other client, gets a short answer instead of a hang
    if (!String(request.headers.accept ?? '').includes('text/event-stream'))
      return reply.code(406).type('text/plain; charset=utf-8').send(request.t('live.stream_only'));
    const lastId = request.headers['last-event-id'];
    const since = Number(typeof lastId === 'string' ? lastId : request.query.since);
    if (!streams.hasRoom(user.id)) {
      return reply
        .code(429)
        .header('Retry-After', '60')
        .type('text/plain; charset=utf-8')
        .send(request.t('errors.too_many'));
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // a proxy must pass each event on as it comes
      'x-accel-buffering': 'no',
    });
    // the browser waits this long before it reconnects after a drop
    res.write('retry: 3000\n\n');
    streams.add(user.id, res);
    request.raw.on('close', () => streams.remove(user.id, res));
    if (Number.isSafeInteger(since) && since > 0) {
      if (Date.now() - since > catchUpMs) res.write(format('resync', ''));
      else {
        const ids = await listCasesChangedSince(db, new Date(since - skewMs), catchUpCases + 1);
        res.write(ids.length > catchUpCases ? format('resync', '') : format('cases', JSON.stringify(ids)));
        res.write(format('bell', ''));
      }
    } else res.write(format('hello', ''));
  });
}
