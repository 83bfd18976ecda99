import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Our Message-IDs carry an HMAC of their random part, so an inbound reference can be proven to
// be one we made (a forged "reply" naming a guessed ID is not trusted).
function signature(random: string, secret: string): string {
  return createHmac('sha256', secret).update(random).digest('base64url').slice(0, 16);
}

export function createMessageId(domain: string, secret: string): string {
  const random = randomBytes(12).toString('base64url');
  return `<cd.${random}.${signature(random, secret)}@${domain}>`;
}

// Many at once (a job's thousands of notification mails): one call for all the randomness.
export function createMessageIds(domain: string, secret: string, count: number): string[] {
  const bytes = randomBytes(12 * count);
  const ids: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const random = bytes.subarray(i * 12, i * 12 + 12).toString('base64url');
    ids[i] = `<cd.${random}.${signature(random, secret)}@${domain}>`;
  }
  return ids;
}

export function isOurMessageId(messageId: string, secret: string): boolean {
  const match = /^<?cd\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{16})@[^>]+>?$/.exec(messageId.trim());
  if (!match?.[1] || !match[2]) return false;
  const expected = Buffer.from(signature(match[1], secret));
  const given = Buffer.from(match[2]);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
