import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { sql } from 'kysely';
import { type Db, prepared } from '../db/database.ts';

// @fastify/rate-limit's store over PostgreSQL, so a token's limit holds across every instance:
// one upsert per request into the unlogged api_rate_limits (migration 20261206_0100). A window
// that has run out starts again at 1.
export function pgRateLimitStore(db: Db): FastifyRateLimitStoreCtor {
  class PgRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      const window = sql`make_interval(secs => ${timeWindow / 1000})`;
      // every API request asks it: planned once per connection
      sql<{ hits: number; ttl_ms: number }>`${prepared}
        insert into api_rate_limits as l (key, hits, resets_at) values (${key}, 1, now() + ${window})
        on conflict (key) do update set
          hits = case when l.resets_at <= now() then 1 else l.hits + 1 end,
          resets_at = case when l.resets_at <= now() then now() + ${window} else l.resets_at end
        returning hits, (extract(epoch from resets_at - now()) * 1000)::int as ttl_ms`
        .execute(db)
        .then(
          (result) => {
            const row = result.rows[0];
            callback(null, { current: row?.hits ?? 1, ttl: Math.max(0, row?.ttl_ms ?? timeWindow) });
          },
          (error: Error) => callback(error),
        );
    }
    child() {
      return new PgRateLimitStore();
    }
  }
  return PgRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}

// Windows long over: each key's row is reused by its next request, so only keys gone quiet stay.
export async function purgeOldRateLimits(db: Db): Promise<string | undefined> {
  const result = await db
    .deleteFrom('api_rate_limits')
    .where('resets_at', '<', sql<Date>`now() - interval '1 hour'`)
    .executeTakeFirst();
  const count = Number(result.numDeletedRows);
  return count ? `${count} old API rate-limit windows deleted` : undefined;
}
