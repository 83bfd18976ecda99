import autocannon from 'autocannon';
import type { QuickEditPlan } from './scenarios.ts';
import type { BrowserSession } from './session.ts';

export type LoadResult = {
  // Completed requests; a request still running when the run ends is not counted.
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  // How many answers had each status code, e.g. { "200": 812, "409": 1 }.
  statusCodes: Record<string, number>;
  peakRssMb?: number;
};

export function summarize(result: autocannon.Result): LoadResult {
  // Reported by autocannon 8 but missing from its type definitions.
  const stats = (result as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    // connection errors, timeouts (no answer within 10 s) included
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(stats).map(([code, s]) => [code, s.count])),
  };
}

export async function loadGet(
  baseUrl: string,
  path: string,
  session: BrowserSession,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const result = await autocannon({
    url: `${baseUrl}${path}`,
    connections,
    duration: seconds,
    headers: { cookie: session.cookie },
  });
  return summarize(result);
}

// The overview's inline status change, as htmx posts it. Requests go round the plan's cases in
// turn, each flipping its case between two statuses; the version the next edit of a case must
// name is read from the row the app sends back (also after a refused, stale edit).
export async function loadQuickEdit(
  baseUrl: string,
  plan: QuickEditPlan,
  session: BrowserSession,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  // The plan itself keeps the versions, so a later run (more connections) starts from the current ones.
  const state = new Map(plan.cases.map((c) => [c.id, c]));
  const order = plan.cases.map((c) => c.id);
  let turn = 0;
  const [first, second] = plan.statuses;
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: {
          cookie: session.cookie,
          'content-type': 'application/x-www-form-urlencoded',
          'hx-request': 'true',
        },
        setupRequest: (request) => {
          const kase = state.get(order[turn++ % order.length] ?? 0);
          if (!kase) return request;
          kase.statusId = kase.statusId === first ? second : first;
          return {
            ...request,
            path: `/cases/${kase.number}/quick-edit`,
            body: new URLSearchParams({
              _csrf: session.csrf,
              field: 'status_id',
              value: String(kase.statusId),
              version: String(kase.version),
            }).toString(),
          };
        },
        onResponse: (_status, body) => {
          const id = Number(/id="case-row-(\d+)"/.exec(body)?.[1]);
          // the row's version: data-v on the row (views/cases/index/_row.eta)
          const version = Number(/ data-v="(\d+)"/.exec(body)?.[1]);
          const kase = state.get(id);
          if (kase && version) kase.version = version;
        },
      },
    ],
  });
  return summarize(result);
}

// One request outside the measurement: does the route exist at all?
export async function probe(baseUrl: string, path: string, session: BrowserSession, init: RequestInit = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), cookie: session.cookie },
  });
  return { status: response.status, body: await response.text() };
}
