import type { Db } from './database.ts';
import { changeFeedOf, rootDbOf } from './database.ts';

// Reads that nearly never change (statuses, types, priorities, active users, canned replies, a
// session and its user) but are wanted on almost every request: kept in this process and used again until one of the tables
// they were read from changes. The change feed (src/db/change-feed.ts) hears every committed
// write on any instance; a write this process makes calls tablesChanged() as well, so the next
// request here never waits for the notification. Without a listening connection nothing is kept.
// maxAgeMs bounds what a lost notification could cost.
type Entry = { tables: readonly string[]; at: number; value: Promise<unknown> };
type Cache = { entries: Map<string, Entry> };
const caches = new WeakMap<Db, Cache>();
const maxAgeMs = 60_000;
const maxEntries = 20_000;

function cacheOf(db: Db): Cache | null {
  const feed = changeFeedOf(db);
  if (!feed) return null;
  let cache = caches.get(db);
  if (!cache) {
    const entries = new Map<string, Entry>();
    feed.subscribe((table) => dropEntries(entries, table));
    cache = { entries };
    caches.set(db, cache);
  }
  feed.ensureStarted();
  return feed.connected ? cache : null;
}

function dropEntries(entries: Map<string, Entry>, table: string): void {
  for (const [key, entry] of entries) {
    if (table === '*' || entry.tables.includes(table)) entries.delete(key);
  }
}

// key names the list (with its parameters); tables are every table the load reads.
// evenInTransaction: a transaction's read may come from, and fill, its database's cache: for
// setup read on every write (the service levels) that the writing transactions never change. The
// load runs on the caller's own connection: asking the pool for a second one while a transaction
// holds the first can wait forever once every connection is held that way.
export function cachedRead<T>(
  db: Db,
  key: string,
  tables: readonly string[],
  load: (db: Db) => Promise<T>,
  opts: { evenInTransaction?: boolean } = {},
): Promise<T> {
  const cache = cacheOf(opts.evenInTransaction && db.isTransaction ? rootDbOf(db) : db);
  if (!cache) return load(db);
  const now = Date.now();
  const found = cache.entries.get(key);
  if (found && now - found.at < maxAgeMs) return found.value as Promise<T>;
  // keys per session and per user: a large office's worth, then start over
  if (cache.entries.size >= maxEntries) cache.entries.clear();
  const entry: Entry = { tables, at: now, value: load(db) };
  cache.entries.set(key, entry);
  // a failed read is not kept
  entry.value.catch(() => {
    if (cache.entries.get(key) === entry) cache.entries.delete(key);
  });
  return entry.value as Promise<T>;
}

// Called by the functions that write these tables, after their write committed.
export function tablesChanged(db: Db, ...tables: string[]): void {
  const cache = caches.get(db);
  if (cache) for (const table of tables) dropEntries(cache.entries, table);
}

// A cached value is shared between requests; freezing it makes a caller's change throw instead.
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
