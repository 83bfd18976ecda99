import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { changeFeedOf, createDb, type Db } from '../db/database.ts';

// Each test file gets its own database cloned from the migrated template that scripts/test.ts
// made, so files never see each other's rows.
export async function createTestDatabase(): Promise<{ db: Db; url: string; drop: () => Promise<void> }> {
  const serverUrl = process.env.CASEDESK_TEST_SERVER_URL;
  const template = process.env.CASEDESK_TEST_TEMPLATE;
  if (!serverUrl || !template) throw new Error('Run tests with `npm test` (it prepares the test databases).');
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  // FILE_COPY copies the template's files; the default WAL_LOG writes all of its 10 MB (mostly
  // system catalogs) through the WAL: measured 0.5 s of CPU per clone against 0.17 s.
  await admin.query(`create database ${name} template ${template} strategy file_copy`);
  // A test database is thrown away, so a commit need not wait for its WAL to reach the disk:
  // on a shared 2-core machine those flushes were a large part of the suite's time.
  await admin.query(`alter database ${name} set synchronous_commit = off`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 20);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await db.destroy();
      const client = new pg.Client({ connectionString: adminUrl.toString() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

// The database's change feed (src/db/change-feed.ts) listening: until then nothing is kept in the
// process, and a test of what is kept would pass without testing it.
export async function untilChangeFeedListens(db: Db): Promise<void> {
  const feed = changeFeedOf(db);
  if (!feed) throw new Error('this database handle has no change feed (made by createDb?)');
  const deadline = Date.now() + 5_000;
  while (!feed.connected) {
    if (Date.now() > deadline) throw new Error('the change feed did not listen within 5 s');
    feed.ensureStarted();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
