// npm run migrate: bring the database to the latest migration and name what was applied.
// Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (the app's, while it runs).
import { ConfigError, loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { errorMessage } from '../src/error-message.ts';

async function main(): Promise<void> {
  const say = (msg: string) => console.log(`[migrate] ${msg}`);
  const database = await openDatabase(loadConfig(), say, 2);
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length) for (const name of applied) say(`applied ${name}`);
    else say('already up to date');
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`[migrate] failed: ${errorMessage(error)}`);
  process.exit(1);
});
