import type { Db } from './database.ts';
import { changeFeedOf, rootDbOf } from './database.ts';

// Reads that nearly never change (statuses, types, priorities, active users, canned replies, a
// session and its user) and lists that are asked for far more often than they change (the
// overview's rows and counts) are kept in this process and used again until one of the tables they
// were read from changes. The change feed (src/db/change-feed.ts) hears every committed
// write on any instance; a write this process makes calls tablesChanged() as well, so the next
// request here never waits for the notification. Without a listening connection nothing is kept.
// maxAgeMs bounds what a lost notification could cost.
type Entry = { tables: readonly string[]; at: number; until: number; value: Promise<unknown> };
// byTable: the keys read from each table, so a change drops its entries without a walk over all
// of them (the case lists hear of every case written anywhere)
// rooms: the keys of each kind that keeps only so many (CachedReadOptions.room), oldest first
type Cache = { entries: Map<string, Entry>; byTable: Map<string, Set<string>>; rooms: Map<string, Set<string>> };
const caches = new WeakMap<Db, Cache>();
const maxAgeMs = 60_000;
const maxEntries = 20_000;

function cacheOf(db: Db): Cache | null {
  const feed = changeFeedOf(db);
  if (!feed) return null;
  let cache = caches.get(db);
  if (!cache) {
    const made: Cache = { entries: new Map(), byTable: new Map(), rooms: new Map() };
    feed.subscribe((table) => dropEntries(made, table));
    cache = made;
    caches.set(db, cache);
  }
  feed.ensureStarted();
  return feed.connected ? cache : null;
}

function dropEntries(cache: Cache, table: string): void {
  if (table === '*') {
    cache.entries.clear();
    cache.byTable.clear();
    cache.rooms.clear();
    return;
  }
  const keys = cache.byTable.get(table);
  if (!keys) return;
  cache.byTable.delete(table);
  // a key may also sit in another table's set: it is dropped there too when that one changes, at
  // worst once more than needed
  for (const key of keys) cache.entries.delete(key);
}

export type CachedReadOptions<T> = {
  // A transaction's read may come from, and fill, its database's cache: for setup read on every
  // write (the service levels) that the writing transactions never change. The load runs on the
  // caller's own connection: asking the pool for a second one while a transaction holds the first
  // can wait forever once every connection is held that way.
  evenInTransaction?: boolean;
  // Exact, not just soon: first make sure every change committed before this call has been heard
  // (ChangeFeed.sync, one shared round trip), so a user who just changed something on another
  // instance, or a job that just ran, is never shown what was there before. For lists that change
  // all day (cases); the register lists take the feed's moment of delay.
  exact?: boolean;
  // When a value read now stops being true by itself, with no write (a deadline's warning point
  // passing): a time in ms, or null for never.
  validUntil?: (value: T) => number | null;
  // At most `size` values of this kind are kept (the oldest read goes first), for large values
  // with many keys (a page of cases per user and filter): memory stays bounded however many
  // different pages are asked for.
  room?: { name: string; size: number };
};

// The fence of an exact read: true once every change committed before now has been heard; false
// when that cannot be known (nothing listens, or the listening connection does not answer within a
// second, as when its network is gone and no error has come yet), and the caller reads anew.
const syncWaitMs = 1_000;
async function heardEverything(db: Db): Promise<boolean> {
  const feed = changeFeedOf(db);
  if (!feed?.connected) return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), syncWaitMs);
  });
  const heard = feed.sync().then(
    () => true,
    () => false,
  );
  return Promise.race([heard, late]).finally(() => clearTimeout(timer));
}

// key names the list (with its parameters); tables are every table the load reads.
export async function cachedRead<T>(
  db: Db,
  key: string,
  tables: readonly string[],
  load: (db: Db) => Promise<T>,
  opts: CachedReadOptions<T> = {},
): Promise<T> {
  const root = opts.evenInTransaction && db.isTransaction ? rootDbOf(db) : db;
  if (opts.exact && !(await heardEverything(root))) return load(db);
  const cache = cacheOf(root);
  if (!cache) return load(db);
  const now = Date.now();
  const found = cache.entries.get(key);
  if (found && now - found.at < maxAgeMs && now < found.until) return found.value as Promise<T>;
  // keys per session and per user: a large office's worth, then start over
  if (cache.entries.size >= maxEntries) dropEntries(cache, '*');
  const entry: Entry = { tables, at: now, until: Number.POSITIVE_INFINITY, value: load(db) };
  cache.entries.set(key, entry);
  if (opts.room) makeRoom(cache, opts.room, key);
  for (const table of tables) {
    let keys = cache.byTable.get(table);
    if (!keys) {
      keys = new Set();
      cache.byTable.set(table, keys);
    }
    keys.add(key);
  }
  entry.value.then(
    (value) => {
      const until = opts.validUntil?.(value as T);
      if (until !== undefined && until !== null) entry.until = until;
    },
    // a failed read is not kept
    () => {
      if (cache.entries.get(key) === entry) cache.entries.delete(key);
    },
  );
  return entry.value as Promise<T>;
}

function makeRoom(cache: Cache, room: { name: string; size: number }, key: string): void {
  let keys = cache.rooms.get(room.name);
  if (!keys) {
    keys = new Set();
    cache.rooms.set(room.name, keys);
  }
  keys.delete(key);
  keys.add(key);
  // keys dropped by a change may still be listed here; they only make room sooner
  for (const oldest of keys) {
    if (keys.size <= room.size) break;
    keys.delete(oldest);
    cache.entries.delete(oldest);
  }
}

// Called by the functions that write these tables, after their write committed.
export function tablesChanged(db: Db, ...tables: string[]): void {
  const cache = caches.get(db);
  if (cache) for (const table of tables) dropEntries(cache, table);
}

// A cached value is shared between requests; freezing it makes a caller's change throw instead.
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
