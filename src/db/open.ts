import type { Config } from '../config.ts';
import { errorMessage } from '../error-message.ts';
import { createDb, type Db } from './database.ts';
import { startEmbeddedPostgres } from './embedded.ts';

export type OpenDatabase = { db: Db; embedded: boolean; close: () => Promise<void> };

// The database named by DATABASE_URL, or else the embedded PostgreSQL in DATA_DIR: the server
// already running for that data dir (the app's, while a script runs), or one started here.
// Used by the server and by every script, so they all find the same data.
export async function openDatabase(config: Config, say: (msg: string) => void, poolSize = 10): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const db = createDb(config.databaseUrl, poolSize);
    return { db, embedded: false, close: () => db.destroy() };
  }
  const server = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, say);
  const db = createDb(server.url, poolSize);
  return {
    db,
    embedded: true,
    close: async () => {
      await db.destroy();
      // Stops the server only if no other process uses it; a failure to stop is said, not thrown,
      // so it never hides what the caller was doing.
      await server.stop().catch((error) => say(`could not stop the embedded PostgreSQL: ${errorMessage(error)}`));
    },
  };
}
