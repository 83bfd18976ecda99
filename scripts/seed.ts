// npm run seed -- --demo: the small Swedish demo organisation (skipped if customers exist).
// Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (stop `npm start` first).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { seedDemoData } from '../src/demo/demo-data.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { demo: { type: 'boolean', default: false } } });
  if (!values.demo) {
    console.error('usage: npm run seed -- --demo');
    process.exit(2);
  }
  const say = (msg: string) => console.log(`[seed] ${msg}`);
  const database = await openDatabase(loadConfig(), say, 4);
  try {
    await migrateToLatest(database.db);
    const started = Date.now();
    const seeded = await seedDemoData(database.db, say);
    say(seeded ? `done in ${Date.now() - started} ms` : 'skipped: the database already has customers');
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('[seed] failed:', error);
  process.exit(1);
});
