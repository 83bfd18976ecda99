import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { cachedRead, deepFreeze, tablesChanged } from '../db/cached.ts';
import { type Db, preparedAtEnd } from '../db/database.ts';
import type { ApiScope, User } from '../db/schema.ts';
import { FormError, requiredText } from '../forms/form.ts';
import { findSessionUser } from '../users/queries.ts';
import { type AccessLevel, scopesOfLevel } from './scopes.ts';

// Personal access tokens (issue 19): made under My settings, shown once, stored as a hash. A
// request with one has exactly its user's rights, narrowed by its scopes.

const tokenPrefix = 'cdp_';
// cdp_ + 43 characters of base64url (32 random bytes)
const tokenPattern = /^cdp_[A-Za-z0-9_-]{43}$/;
export const tokenExpiryDays = [7, 30, 90, 365] as const;

const hashOf = (token: string) => createHash('sha256').update(token).digest();

export const newTokenSchema = z.object({
  name: requiredText(100),
  access: z.enum(['read', 'write', 'admin'], 'errors.required'),
  expires_in_days: z.enum(tokenExpiryDays.map(String) as ['7'], 'errors.required').transform(Number),
});
export type NewTokenInput = z.output<typeof newTokenSchema>;

export type CreatedToken = { id: number; token: string };

// Admin access only for admins: a token never has more rights than its user.
export async function createApiToken(
  db: Db,
  user: User,
  input: NewTokenInput,
  now = new Date(),
): Promise<CreatedToken> {
  if (input.access === 'admin' && user.role !== 'admin') throw new FormError({ access: 'api.admin_only_for_admins' });
  const token = tokenPrefix + randomBytes(32).toString('base64url');
  const row = await db
    .insertInto('api_tokens')
    .values({
      user_id: user.id,
      name: input.name,
      token_hash: hashOf(token),
      prefix: token.slice(0, tokenPrefix.length + 6),
      scopes: scopesOfLevel(input.access as AccessLevel),
      expires_at: new Date(now.getTime() + input.expires_in_days * 86_400_000),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

export async function listApiTokens(db: Db, userId: number) {
  return db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'prefix', 'scopes', 'expires_at', 'revoked_at', 'last_used_at', 'created_at'])
    .where('user_id', '=', userId)
    .orderBy('revoked_at', (ob) => ob.desc().nullsFirst())
    .orderBy('id', 'desc')
    .execute();
}
export type ApiTokenRow = Awaited<ReturnType<typeof listApiTokens>>[number];

// A user revokes only their own; a second revoke changes nothing. false: no such token of theirs.
export async function revokeApiToken(db: Db, userId: number, tokenId: number): Promise<boolean> {
  const row = await db
    .updateTable('api_tokens')
    .set({ revoked_at: sql`coalesce(revoked_at, now())` })
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  tablesChanged(db, 'api_tokens');
  return !!row;
}

// Deactivating a user ends their tokens for good: a reactivation does not bring them back. Runs in
// the deactivation's transaction, which says api_tokens changed once it has committed.
export async function revokeTokensOfUser(db: Db, userId: number): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

export type TokenAuth =
  | { ok: true; user: User; tokenId: number; scopes: ApiScope[] }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'inactive' };

// last_used_at moves at most this often, so a busy token costs a write a minute, not one a request.
const lastUsedEveryMs = 60_000;

// A token in use costs no query while it is in this process's cache (src/db/cached.ts), as a
// session does: any write to api_tokens on any instance (a revoke, a new token, the last-used
// time) empties it, and this process's own writes do so at once. Only tokens that exist are kept
// (an unknown one is read again each time), at most `room` of them, and none past its expiry.
const tokenRoom = { name: 'api-tokens', size: 2_000 };

export async function authenticateApiToken(db: Db, token: string, now = new Date()): Promise<TokenAuth> {
  if (!tokenPattern.test(token)) return { ok: false, reason: 'malformed' };
  const hash = hashOf(token);
  const row = await cachedRead(
    db,
    `api-token:${hash.toString('base64url')}`,
    ['api_tokens'],
    () =>
      db
        .selectFrom('api_tokens')
        .select(['id', 'user_id', 'scopes', 'expires_at', 'revoked_at', 'last_used_at'])
        .where('token_hash', '=', hash)
        // every API request asks it: planned once per connection
        .modifyEnd(preparedAtEnd)
        .executeTakeFirst()
        .then((found) => found && deepFreeze(found)),
    { room: tokenRoom, validUntil: (found) => (found ? found.expires_at.getTime() : 0) },
  );
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revoked_at) return { ok: false, reason: 'revoked' };
  if (row.expires_at <= now) return { ok: false, reason: 'expired' };
  const user = await findSessionUser(db, row.user_id);
  if (!user?.active) return { ok: false, reason: 'inactive' };
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > lastUsedEveryMs) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    tablesChanged(db, 'api_tokens');
  }
  return { ok: true, user, tokenId: row.id, scopes: row.scopes };
}
