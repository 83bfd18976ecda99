import { createHmac, timingSafeEqual } from 'node:crypto';

// A delivery's signature: HMAC-SHA256 with the webhook's secret over "<timestamp>.<body>", sent
// as "Casedesk-Signature: t=<unix seconds>,v1=<hex>". The timestamp is signed too, so a receiver
// that refuses old timestamps refuses a replayed delivery. Pure.

export const signatureHeader = 'casedesk-signature';

const hmac = (secret: string, timestamp: number, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

export function signDelivery(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

export type Verdict = { ok: true } | { ok: false; reason: 'malformed' | 'mismatch' | 'too_old' };

// What a receiver does (the README shows it): the signature must match, and the timestamp be
// within `toleranceSeconds` of its clock.
export function verifyDelivery(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Verdict {
  const parts = new Map((header ?? '').split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(timestamp) || !/^[0-9a-f]{64}$/.test(given)) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return { ok: false, reason: 'mismatch' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'too_old' };
  return { ok: true };
}
