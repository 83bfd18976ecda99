import type { Session } from 'fastify';
import { cachedRead, tablesChanged } from '../db/cached.ts';
import type { Db } from '../db/database.ts';

type Callback = (err?: unknown) => void;
type GetCallback = (err: unknown, session?: Session | null) => void;

// Server-side sessions in PostgreSQL: they survive a restart and are shared by every instance.
export class PgSessionStore {
  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    // Told of a throw that no callback could take (see settle).
    private readonly onLostError: (error: unknown) => void = (error) => console.error(error),
  ) {}

  set(sid: string, session: Session, callback: Callback): void {
    const expires = session.cookie?.expires ? new Date(session.cookie.expires) : new Date(Date.now() + this.ttlMs);
    const data = JSON.stringify(session);
    const saved = this.db
      .insertInto('sessions')
      .values({ sid, data, user_id: session.userId ?? null, expires_at: expires })
      .onConflict((oc) => oc.column('sid').doUpdateSet({ data, user_id: session.userId ?? null, expires_at: expires }))
      .execute()
      .finally(() => tablesChanged(this.db, 'sessions'));
    this.settle(saved, callback);
  }

  // A valid session costs no query while it is in this process's cache (src/db/cached.ts), which
  // any write to sessions on any instance (login, logout, ended sessions) empties. Kept as text, so
  // each request gets its own object to change.
  get(sid: string, callback: GetCallback): void {
    const found = cachedRead(this.db, `session:${sid}`, ['sessions'], () =>
      this.db
        .selectFrom('sessions')
        .select(['data', 'expires_at'])
        .where('sid', '=', sid)
        .where('expires_at', '>', new Date())
        .executeTakeFirst()
        .then((row) => (row ? { json: JSON.stringify(row.data), expires: row.expires_at.getTime() } : null)),
    ).then((kept) => (kept && kept.expires > Date.now() ? (JSON.parse(kept.json) as Session) : null));
    this.settle(found, callback);
  }

  destroy(sid: string, callback: Callback): void {
    const deleted = this.db
      .deleteFrom('sessions')
      .where('sid', '=', sid)
      .execute()
      .finally(() => tablesChanged(this.db, 'sessions'));
    this.settle(deleted, callback);
  }

  // The plugin's callbacks carry the request on (after set(), the reply is written), so a throw in
  // one (Node refusing a header) must not escape into the query's promise chain, where it would
  // become an unhandled rejection and end the process. As Fastify does with its own async hooks,
  // the callback hears of such a throw as the store's error, and the request ends in a 500.
  private settle<T>(work: Promise<T>, callback: (err: unknown, value?: T) => void): void {
    work.then(
      (value) => this.callBack(callback, null, value),
      (error: unknown) => this.callBack(callback, error ?? new Error('session store failed')),
    );
  }

  private callBack<T>(callback: (err: unknown, value?: T) => void, error: unknown, value?: T): void {
    try {
      callback(error, value);
    } catch (thrown) {
      if (error) {
        this.onLostError(thrown);
        return;
      }
      try {
        callback(thrown);
      } catch (again) {
        this.onLostError(again);
      }
    }
  }
}
