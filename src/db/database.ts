import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
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
  // with a worker, 30-70 ms without.
  const pool = new pg.Pool({ connectionString, max: poolSize, options: '-c max_parallel_workers_per_gather=0' });
  // An idle connection dropped by the server (restart, shutdown) must not crash the process;
  // the pool replaces it on the next query.
  pool.on('error', (error) => console.error(`[casedesk] idle database connection lost: ${error.message}`));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
