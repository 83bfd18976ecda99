import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { FormError, manyOf, optionalText, requiredText } from '../forms/form.ts';
import { isAllowedTarget } from './address-guard.ts';
import { retryForHours } from './backoff.ts';

// Webhooks (issue 19): an administrator registers a URL and the events it wants. The deliveries
// are queued by triggers in the transaction of each change (migration 20261206_0100) and sent by
// deliver.ts; this module keeps the registrations and the log.

export const webhookEvents = [
  'case.created',
  'case.updated',
  'case.closed',
  'thread.customer_message',
  'thread.reply_sent',
  'approval.decided',
  'work_order.created',
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];
// "Send test" queues this one, to the webhook alone, whatever it subscribes to.
export const pingEvent = 'ping';

export const webhookSchema = z.object({
  url: requiredText(2000).pipe(z.url({ protocol: /^https?$/, error: 'webhooks.url_invalid' })),
  events: manyOf(z.enum(webhookEvents, 'errors.invalid')).refine(
    (events) => events.length > 0,
    'webhooks.events_required',
  ),
  description: optionalText(200).transform((v) => v ?? ''),
  active: z
    .enum(['on', ''], 'errors.invalid')
    .optional()
    .transform((v) => v === 'on'),
});
export type WebhookInput = z.output<typeof webhookSchema>;

// A URL naming an address outright is checked now; a host name is checked each time it is sent
// to, against what it resolves to then (deliver.ts).
function checkTarget(input: WebhookInput, allowList: readonly string[]): void {
  const host = new URL(input.url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isAllowedTarget(host, allowList)) throw new FormError({ url: 'webhooks.url_private' });
  if (host === 'localhost' && !isAllowedTarget('127.0.0.1', allowList))
    throw new FormError({ url: 'webhooks.url_private' });
}

export async function createWebhook(db: Db, input: WebhookInput, actorId: number, allowList: readonly string[]) {
  checkTarget(input, allowList);
  return db
    .insertInto('webhooks')
    .values({
      url: input.url,
      events: input.events,
      description: input.description,
      active: input.active,
      secret: `whsec_${randomBytes(24).toString('base64url')}`,
      created_by: actorId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
}

export async function updateWebhook(db: Db, id: number, input: WebhookInput, allowList: readonly string[]) {
  checkTarget(input, allowList);
  const row = await db
    .updateTable('webhooks')
    .set({ url: input.url, events: input.events, description: input.description, active: input.active })
    .where('id', '=', id)
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

// Its log goes with it.
export async function deleteWebhook(db: Db, id: number): Promise<boolean> {
  const row = await db.deleteFrom('webhooks').where('id', '=', id).returning('id').executeTakeFirst();
  return !!row;
}

export async function listWebhooks(db: Db) {
  return db
    .selectFrom('webhooks as w')
    .select([
      'w.id',
      'w.url',
      'w.events',
      'w.active',
      'w.description',
      (eb) =>
        eb
          .selectFrom('webhook_deliveries as d')
          .select((e) => e.fn.countAll<string>().as('n'))
          .whereRef('d.webhook_id', '=', 'w.id')
          .where('d.status', '=', 'failed')
          .as('failed'),
    ])
    .orderBy('w.id')
    .execute();
}

export async function findWebhook(db: Db, id: number) {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

// The delivery log, newest first (index webhook_deliveries_log).
export async function listDeliveries(db: Db, webhookId: number, limit = 50) {
  return db
    .selectFrom('webhook_deliveries')
    .select([
      'id',
      'event_id',
      'event',
      'status',
      'attempts',
      'next_attempt_at',
      'last_attempt_at',
      'last_status_code',
      'last_error',
      'delivered_at',
      'created_at',
    ])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

// "Redeliver": the same event (same id, same body) goes again now, retried for another day if it
// fails. A delivery being sent at this moment is left to finish. false: no such delivery.
export async function redeliver(db: Db, webhookId: number, deliveryId: string): Promise<boolean> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set({
      status: 'pending',
      next_attempt_at: sql`now()`,
      give_up_at: sql`now() + ${sql.lit(`${retryForHours} hours`)}::interval`,
      last_error: null,
    })
    .where('id', '=', deliveryId)
    .where('webhook_id', '=', webhookId)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', sql<Date>`now()`)]))
    .returning('id')
    .executeTakeFirst();
  return !!row;
}

// "Send test": a ping to this webhook alone.
export async function queueTestDelivery(db: Db, webhookId: number): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      webhook_id: webhookId,
      event: pingEvent,
      payload: JSON.stringify({
        event: pingEvent,
        occurred_at: new Date().toISOString(),
        data: { webhook_id: webhookId },
      }),
    })
    .execute();
}
