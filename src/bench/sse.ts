import http from 'node:http';
import type { BrowserSession } from './session.ts';

// Open event streams (GET /events, src/live/), held while the bench measures the overview: the
// issue's "with 200 open SSE connections, the overview targets still hold". A user may hold
// streamsPerUser of them, so they are spread over several agents' sessions.
export type HeldStreams = { opened: number; refused: number; events: () => number; close: () => void };

export async function holdEventStreams(
  baseUrl: string,
  sessions: BrowserSession[],
  count: number,
  perUser: number,
): Promise<HeldStreams> {
  const requests: http.ClientRequest[] = [];
  let opened = 0;
  let refused = 0;
  let events = 0;
  const openOne = (session: BrowserSession) =>
    new Promise<void>((resolve) => {
      const request = http.get(
        `${baseUrl}/events`,
        { headers: { cookie: session.cookie, accept: 'text/event-stream' } },
        (response) => {
          if (response.statusCode === 200) opened++;
          else refused++;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            events += chunk.split('\n\n').length - 1;
          });
          response.on('error', () => undefined);
          resolve();
        },
      );
      request.on('error', () => {
        refused++;
        resolve();
      });
      requests.push(request);
    });
  for (let i = 0; i < count; i++) {
    const session = sessions[Math.floor(i / perUser) % sessions.length];
    if (session) await openOne(session);
  }
  return {
    opened,
    refused,
    events: () => events,
    close: () => {
      for (const request of requests) request.destroy();
    },
  };
}
