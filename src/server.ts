import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { EmbeddedPostgresError } from './db/embedded.ts';
import { migrateToLatest } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { seedDemoData } from './demo/demo-data.ts';
import { errorMessage } from './error-message.ts';
import { type Schedule, startSchedule } from './jobs/schedule.ts';
import { createMailSender, type MailSender } from './mail/outbound/sender.ts';
import { ensureAdminUser } from './users/users.ts';

// Process entry: configuration, database (embedded unless DATABASE_URL is set), migrations,
// the admin user, then the web server; on SIGTERM/SIGINT everything closes in reverse order.
async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig();
  const say = (msg: string) => console.log(`[casedesk] ${msg}`);

  const database = await openDatabase(config, say);
  const { db } = database;
  let app: FastifyInstance | undefined;
  let mailSender: MailSender | undefined;
  let schedule: Schedule | undefined;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    say(`${signal}: closing`);
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      await app?.close();
      await schedule?.stop();
      await mailSender?.stop();
      await database.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    const applied = await migrateToLatest(db);
    if (applied.length) say(`migrations applied: ${applied.join(', ')}`);
    const { generatedPassword } = await ensureAdminUser(db, config.adminPassword);
    if (generatedPassword) {
      // Printed once, on the start that created ADMIN; it is not stored anywhere in clear.
      say('='.repeat(60));
      say(`created user ADMIN with password: ${generatedPassword}`);
      say('change it under Administration → Users after logging in');
      say('='.repeat(60));
    }
    // A trial on the embedded database starts with a small demo organisation (DEMO=false: none).
    if (database.embedded && config.demo) await seedDemoData(db, say);
  } catch (error) {
    await database.close();
    throw error;
  }
  mailSender = createMailSender({ db, config, log: say });
  app = await buildApp({ config, db, mailSender });
  await app.listen({ port: config.port, host: config.host });
  if (config.mailSender) mailSender.start();
  if (config.jobs) schedule = startSchedule({ db, config, log: say });
  say(`ready at http://${config.host}:${config.port} in ${Date.now() - started} ms`);
}

main().catch((error) => {
  if (error instanceof ConfigError) console.error(error.message);
  else {
    console.error(`[casedesk] failed to start: ${errorMessage(error)}`);
    // A fault of ours rather than of the machine: where it happened helps whoever fixes it.
    if (error instanceof Error && !(error instanceof EmbeddedPostgresError) && error.stack) console.error(error.stack);
  }
  process.exit(1);
});
