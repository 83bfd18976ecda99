import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDb, type Db } from './db/database.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from './db/embedded.ts';
import { migrateToLatest } from './db/migrate.ts';
import { ensureAdminUser } from './users/users.ts';

// Process entry: configuration, database (embedded unless DATABASE_URL is set), migrations,
// the admin user, then the web server; on SIGTERM/SIGINT everything closes in reverse order.
async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  const say = (msg: string) => console.log(`[casedesk] ${msg}`);

  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, say);
    databaseUrl = embedded.url;
    say(`embedded PostgreSQL running on 127.0.0.1:${config.embeddedPgPort}, data in ${config.dataDir}`);
  }
  let db: Db | undefined;
  let app: FastifyInstance | undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    say(`${signal}: closing`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await app?.close();
      await db?.destroy();
      await embedded?.stop().catch(() => {});
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  db = createDb(databaseUrl);
  const applied = await migrateToLatest(db).catch(async (error) => {
    await db?.destroy();
    await embedded?.stop();
    throw error;
  });
  if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
  const { generatedPassword } = await ensureAdminUser(db, config.adminPassword);
  if (generatedPassword) {
    // Printed once, on the start that created ADMIN; it is not stored anywhere in clear.
    say('='.repeat(60));
    say(`created user ADMIN with password: ${generatedPassword}`);
    say('change it under Administration → Users after logging in');
    say('='.repeat(60));
  }
  app = await buildApp({ config, db });
  await app.listen({ port: config.port, host: config.host });
  say(`ready at http://${config.host}:${config.port} in ${Date.now() - started} ms`);
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error('[casedesk] failed to start:', error);
  process.exit(1);
});
