import type { Session } from 'fastify';
import type { Db } from '../db/database.ts';

type Callback = (err?: unknown) => void;
type GetCallback = (err: unknown, session?: Session | null) => void;

// Server-side sessions in PostgreSQL: they survive a restart and are shared by every instance.
export class PgSessionStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {}

  set(sid: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + this.ttlMs);
    const data = JSON.stringify(session);
    this.db
      .insertInto('sessions')
      .values({ sid, data, user_id: session.userId ?? null, expires_at: expires })
      .onConflict((oc) => oc.column('sid').doUpdateSet({ data, user_id: session.userId ?? null, expires_at: expires }))
      .execute()
      .then(() => callback(), callback);
  }

  get(sid: string, callback: GetCallback): void {
    this.db
      .selectFrom('sessions')
      .select('data')
      .where('sid', '=', sid)
      .where('expires_at', '>', new Date())
      .executeTakeFirst()
      .then((row) => callback(null, row ? (row.data as Session) : null), callback);
  }

  destroy(sid: string, callback: Callback): void {
    this.db
      .deleteFrom('sessions')
      .where('sid', '=', sid)
      .execute()
      .then(() => callback(), callback);
  }
}
