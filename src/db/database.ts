import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { ChangeFeed } from './change-feed.ts';
import type { Database } from './schema.ts';

// bigint (count(*), bigserial) arrives as a string by default; our counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

// A calendar date (due date) stays the string YYYY-MM-DD; as a Date it would shift with time zones.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export type Db = Kysely<Database>;

export function createDb(connectionString: string, poolSize = 10): Db {
  // No parallel query: the app's statements are short, and under many users at once a gather's
  // worker processes (started per statement) cost more than they save and take the cores the
  // other requests need. Measured on the overview's tile counts at 100,000 open cases: 160 ms
  // with a worker, 30-70 ms without. No JIT either: a search over a million cases is planned at a
  // cost above jit_above_cost whenever a word is common, and compiling its expressions took
  // 50-300 ms for a query that then ran in 20-100 ms (issue 16). Not plan_cache_mode: forcing
  // generic plans reaches unnamed statements too, and an insert's ON CONFLICT on a partial unique
  // index whose predicate is a parameter then finds no index (the fuzz test's Read mail).
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    options: '-c max_parallel_workers_per_gather=0 -c jit=off',
  });
  pool.on('connect', runPreparedByName);
  // An idle connection dropped by the server (restart, shutdown) must not crash the process;
  // the pool replaces it on the next query.
  pool.on('error', (error) => console.error(`[casedesk] idle database connection lost: ${error.message}`));
  // The change feed's connection (started on first use) ends with the pool, in db.destroy().
  const feed = new ChangeFeed(connectionString);
  const endPool = pool.end.bind(pool);
  pool.end = (async () => {
    await feed.close();
    return endPool();
  }) as typeof pool.end;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  changeFeeds.set(db, feed);
  roots.set(db.getExecutor().adapter, db);
  return db;
}

// A transaction shares its database's adapter (Kysely hands it on), which finds the database
// made by createDb again: for reads that may come from the cache even inside a transaction.
const roots = new WeakMap<object, Db>();
export const rootDbOf = (db: Db): Db => roots.get(db.getExecutor().adapter) ?? db;

const changeFeeds = new WeakMap<Db, ChangeFeed>();
// The feed of a database made by createDb (a transaction's Db has none: nothing is cached inside one).
export const changeFeedOf = (db: Db): ChangeFeed | undefined => changeFeeds.get(db);

// A statement whose text starts with this comment is prepared once per connection and then run
// by name: PostgreSQL parses it once and, after five runs, keeps one generic plan when that costs
// no more than planning for the values (the quick edit's lock by number does). For the hot
// statements of the quick edit (issue 16). Only for fixed texts with parameters: each distinct
// text is one prepared statement per connection.
export const prepared = sql.raw('/* prepared */ ');
const preparedPrefix = '/* prepared */ ';
// The same for a query built with Kysely's builder, which puts no text before the statement:
// query.modifyEnd(preparedAtEnd). Never on an insert whose ON CONFLICT names a partial index by a
// parameter (its generic plan finds no index; see createDb).
export const preparedAtEnd = sql.raw(' /* prepared */');
const preparedSuffix = ' /* prepared */';
const preparedNames = new Map<string, string>();

function runPreparedByName(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config !== 'string' || !(config.startsWith(preparedPrefix) || config.endsWith(preparedSuffix))) {
      return query(config, values, callback);
    }
    let name = preparedNames.get(config);
    if (!name) {
      name = `casedesk_${createHash('sha1').update(config).digest('hex').slice(0, 16)}`;
      preparedNames.set(config, name);
    }
    return query({ name, text: config, values }, callback);
  }) as typeof client.query;
}
