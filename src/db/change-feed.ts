import pg from 'pg';

// Which tables changed, as PostgreSQL tells every instance: the statement triggers of migration
// 20261204_0500_change_notify send the table's name on the channel below when a statement that
// wrote it commits, whoever wrote it (this process, another instance, a script, psql). Caches of
// rarely changed lists (src/db/cached.ts) use it to stay exact without asking the database on
// every request. While the listening connection is down nothing may be cached: `connected` is
// false from the moment it fails until it listens again, and every listener hears '*' then.
export const changeChannel = 'casedesk_change';
// Which cases and whose bells changed (migration 20261205_0200_live_notify), for the live pages
// (src/live/): heard on the same connection. Its listeners hear '*' when the connection was lost
// or is back, as anything may have changed meanwhile.
export const liveChannel = 'casedesk_live';
// how the listening session is named in pg_stat_activity (its last query is sync()'s, not LISTEN)
export const changeFeedApplicationName = 'casedesk change feed';
const retryMs = [250, 1_000, 5_000];

type Listener = (table: string) => void;

export class ChangeFeed {
  private client: pg.Client | null = null;
  private starting: Promise<void> | null = null;
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly liveListeners = new Set<Listener>();
  // sync(): the round trip on the listening connection now under way, and the one callers who
  // came after it started wait for
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;
  connected = false;

  constructor(private readonly connectionString: string) {}

  // Starts listening on first use; safe to call on every request.
  ensureStarted(): void {
    if (this.closed || this.client || this.starting || this.retry) return;
    this.starting = this.connect().finally(() => {
      this.starting = null;
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // The live channel's payloads (JSON text), or '*' after the connection was lost or came back.
  subscribeLive(listener: Listener): () => void {
    this.liveListeners.add(listener);
    this.ensureStarted();
    return () => this.liveListeners.delete(listener);
  }

  // Resolves once every change committed before the call has been heard here. PostgreSQL sends a
  // listening session its pending notifications before it answers a query, so one trivial query on
  // the listening connection is a fence: when it returns, every listener has heard of each write
  // that committed before it was sent. A caller that comes while one is under way waits for the
  // next (the running one may have been sent before its caller's write was known to it); all who
  // wait share it, so a busy process sends about one per round trip, not one per request.
  // Rejects when nothing listens: then nothing may be served from memory.
  sync(): Promise<void> {
    if (this.nextSync) return this.nextSync;
    const after = this.syncing ?? Promise.resolve();
    const next = after
      .catch(() => undefined)
      .then(() => {
        if (this.nextSync === next) this.nextSync = null;
        const client = this.client;
        if (!client || !this.connected) throw new Error('the change feed is not listening');
        const fence = client.query('select 1').then(() => undefined);
        this.syncing = fence;
        const done = () => {
          if (this.syncing === fence) this.syncing = null;
        };
        fence.then(done, done);
        return fence;
      });
    this.nextSync = next;
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.starting?.catch(() => undefined);
    const client = this.client;
    this.client = null;
    this.lost();
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: changeFeedApplicationName,
    });
    client.on('notification', (message) => {
      if (message.channel === changeChannel && message.payload) this.emit(message.payload);
      else if (message.channel === liveChannel && message.payload) this.emitLive(message.payload);
    });
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await client.query(`listen ${changeChannel}; listen ${liveChannel}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
      this.failures = 0;
      // anything may have changed while nobody listened
      this.emit('*');
      this.emitLive('*');
      this.connected = true;
    } catch {
      await client.end().catch(() => undefined);
      this.scheduleRetry();
    }
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.lost();
    client.end().catch(() => undefined);
    this.scheduleRetry();
  }

  private lost(): void {
    this.connected = false;
    this.emit('*');
    this.emitLive('*');
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry) return;
    const wait = retryMs[Math.min(this.failures, retryMs.length - 1)] ?? 5_000;
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.ensureStarted();
    }, wait);
    this.retry.unref();
  }

  private emit(table: string): void {
    for (const listener of this.listeners) listener(table);
  }

  private emitLive(payload: string): void {
    for (const listener of this.liveListeners) listener(payload);
  }
}
