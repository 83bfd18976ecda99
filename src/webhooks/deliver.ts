import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { errorMessage } from '../error-message.ts';
import { isAllowedTarget } from './address-guard.ts';
import { retryDelayMs } from './backoff.ts';
import { signatureHeader, signDelivery } from './signature.ts';

// Sends the queued deliveries (webhook_deliveries, written by triggers with each change). A batch
// is claimed with SKIP LOCKED for a while (claimSeconds), so instances never send one twice at
// once; a sender killed while holding one leaves it to be claimed again when the claim runs out,
// and the receiver gets it a second time at most (the event id is the same, to drop it by).

const requestTimeoutMs = 10_000;
const batchSize = 20;

export type DeliverOptions = { claimSeconds?: number; now?: () => number };

type Claimed = {
  id: string;
  event_id: string;
  event: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret: string;
};

async function claimDue(db: Db, claimSeconds: number): Promise<Claimed[]> {
  const result = await sql<Claimed>`
    update webhook_deliveries d set locked_until = now() + make_interval(secs => ${claimSeconds})
      from webhooks w
     where w.id = d.webhook_id
       and d.id in (
         select id from webhook_deliveries
          where status = 'pending' and next_attempt_at <= now() and (locked_until is null or locked_until < now())
          order by next_attempt_at, id
          limit ${batchSize}
          for update skip locked)
    returning d.id, d.event_id, d.event, d.payload, d.attempts, w.url, w.secret`.execute(db);
  return result.rows;
}

// Each address a host name resolves to is checked before connecting to it, so a name that points
// into the network (or is changed to, between checks) is refused at the moment of sending.
function guardedLookup(allowList: readonly string[]): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      const refused = addresses.find((a) => !isAllowedTarget(a.address, allowList));
      if (refused || !addresses.length) {
        const err = Object.assign(
          new Error(`refused: ${hostname} resolves to ${refused?.address ?? 'nothing'}, not a public address`),
          {
            code: 'CD_TARGET_REFUSED',
          },
        );
        return callback(err, '', 4);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

type Outcome = { statusCode: number | null; error: string | null };

function post(url: URL, body: string, headers: Record<string, string>, allowList: readonly string[]): Promise<Outcome> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // a literal address is not looked up, so it is checked here
  if (isIP(host) && !isAllowedTarget(host, allowList))
    return Promise.resolve({ statusCode: null, error: `refused: ${host} is not a public address` });
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        lookup: guardedLookup(allowList),
        timeout: requestTimeoutMs,
      },
      (response) => {
        // the answer's body is not wanted; reading it lets the socket go
        response.resume();
        response.on('end', () => resolve({ statusCode: response.statusCode ?? null, error: null }));
        response.on('error', (error) =>
          resolve({ statusCode: response.statusCode ?? null, error: errorMessage(error) }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${requestTimeoutMs / 1000} s`)));
    request.on('error', (error) => resolve({ statusCode: null, error: errorMessage(error).slice(0, 500) }));
    request.end(body);
  });
}

async function recordOutcome(db: Db, delivery: Claimed, outcome: Outcome): Promise<'delivered' | 'retry' | 'failed'> {
  const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  const attempts = delivery.attempts + 1;
  const error = ok ? null : (outcome.error ?? `answered ${outcome.statusCode}`);
  const row = await db
    .updateTable('webhook_deliveries')
    .set({
      attempts,
      last_attempt_at: sql`now()`,
      last_status_code: outcome.statusCode,
      last_error: error,
      locked_until: null,
      ...(ok
        ? { status: 'delivered', delivered_at: sql`now()` }
        : {
            next_attempt_at: sql`now() + make_interval(secs => ${retryDelayMs(attempts) / 1000})`,
            status: sql`case when now() + make_interval(secs => ${retryDelayMs(attempts) / 1000}) > give_up_at then 'failed' else 'pending' end`,
          }),
    })
    .where('id', '=', delivery.id)
    .returning('status')
    .executeTakeFirst();
  return ok ? 'delivered' : row?.status === 'failed' ? 'failed' : 'retry';
}

// One pass: every delivery due now, a batch at a time, each batch sent in parallel.
export async function deliverDueWebhooks(
  db: Db,
  config: Config,
  opts: DeliverOptions = {},
): Promise<string | undefined> {
  const claimSeconds = opts.claimSeconds ?? 60;
  const now = opts.now ?? Date.now;
  const counts = { delivered: 0, retry: 0, failed: 0 };
  for (;;) {
    const batch = await claimDue(db, claimSeconds);
    if (!batch.length) break;
    await Promise.all(
      batch.map(async (delivery) => {
        const body = JSON.stringify({ id: delivery.event_id, ...(delivery.payload as object) });
        const timestamp = Math.floor(now() / 1000);
        let url: URL;
        try {
          url = new URL(delivery.url);
        } catch {
          counts[await recordOutcome(db, delivery, { statusCode: null, error: 'not a URL' })]++;
          return;
        }
        const outcome = await post(
          url,
          body,
          {
            'user-agent': 'Casedesk-Webhooks/1',
            'casedesk-event': delivery.event,
            'casedesk-delivery': delivery.event_id,
            [signatureHeader]: signDelivery(delivery.secret, timestamp, body),
          },
          config.webhookAllowedAddresses,
        );
        counts[await recordOutcome(db, delivery, outcome)]++;
      }),
    );
    if (batch.length < batchSize) break;
  }
  const said = Object.entries(counts)
    .filter(([, n]) => n)
    .map(([what, n]) => `${n} ${what}`);
  return said.length ? `webhooks: ${said.join(', ')}` : undefined;
}

// Delivered and failed deliveries are kept for the log 30 days.
export async function purgeOldDeliveries(db: Db): Promise<string | undefined> {
  const result = await db
    .deleteFrom('webhook_deliveries')
    .where('status', '<>', 'pending')
    .where('created_at', '<', sql<Date>`now() - interval '30 days'`)
    .executeTakeFirst();
  const count = Number(result.numDeletedRows);
  return count ? `${count} old webhook deliveries deleted` : undefined;
}
