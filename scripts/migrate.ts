// npm run migrate: bring the database to the latest migration and name what was applied.
// Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (stop `npm start` first, as both
// cannot own the same data directory at once).
import { ConfigError, loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const say = (msg: string) => console.log(`[migrate] ${msg}`);
  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, say);
    databaseUrl = embedded.url;
    say(`embedded PostgreSQL, data in ${config.dataDir}`);
  }
  const db = createDb(databaseUrl, 2);
  try {
    const applied = await migrateToLatest(db);
    if (applied.length) for (const name of applied) say(`applied ${name}`);
    else say('already up to date');
  } finally {
    await db.destroy();
    await embedded?.stop().catch(() => {});
  }
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('[migrate] failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
