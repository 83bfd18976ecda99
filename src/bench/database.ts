import pg from 'pg';
import { createDb, type Db } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';

export const benchServerUrl = 'postgres://postgres@127.0.0.1:5432';

// The database a bench subcommand works in. BENCH_DATABASE_URL or DATABASE_URL, when set, is
// used as it is (migrated, never dropped; the bench adds rows to it). Otherwise a database of
// the bench's own, casedesk_bench_<name> on the local server, is dropped and made afresh, so
// every run starts from the same empty state.
export async function benchDatabase(
  name: string,
  say: (msg: string) => void,
  poolSize = 10,
): Promise<{ db: Db; url: string; fresh: boolean }> {
  const given = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  let url = given;
  if (!url) {
    const database = `casedesk_bench_${name}`;
    const admin = new pg.Client({ connectionString: `${benchServerUrl}/postgres` });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.query(`create database ${database}`);
    } finally {
      await admin.end();
    }
    url = `${benchServerUrl}/${database}`;
  }
  const db = createDb(url, poolSize);
  const applied = await migrateToLatest(db);
  if (applied.length) say(`migrations applied: ${applied.length}`);
  return { db, url, fresh: !given };
}
