import type { Config } from '../config.ts';
import { createDb, type Db } from './database.ts';
import { startEmbeddedPostgres } from './embedded.ts';

export type OpenDatabase = { db: Db; embedded: boolean; close: () => Promise<void> };

// The database named by DATABASE_URL, or else the embedded PostgreSQL in DATA_DIR.
// Used by the server and by every script, so they all find the same data.
export async function openDatabase(config: Config, say: (msg: string) => void, poolSize = 10): Promise<OpenDatabase> {
  if (config.databaseUrl) {
    const db = createDb(config.databaseUrl, poolSize);
    return { db, embedded: false, close: () => db.destroy() };
  }
  const server = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, say);
  say(`embedded PostgreSQL running on 127.0.0.1:${config.embeddedPgPort}, data in ${config.dataDir}`);
  const db = createDb(server.url, poolSize);
  return {
    db,
    embedded: true,
    close: async () => {
      await db.destroy();
      // The signal that stops us may already have stopped PostgreSQL (same process group).
      await server.stop().catch(() => {});
    },
  };
}
