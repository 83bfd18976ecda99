// npm run seed -- --demo: the small Swedish demo organisation (skipped if customers exist).
// npm run seed -- --cases 1000000: a large synthetic organisation for measuring (refused if the
// database already has cases; use a database of its own, e.g. `createdb casedesk_bench`).
// Uses DATABASE_URL, else the embedded PostgreSQL in DATA_DIR (the app's, while it runs).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { seedDemoData } from '../src/demo/demo-data.ts';
import { SeedRefusedError, seedSyntheticData, syntheticAgentPassword } from '../src/demo/synthetic-data.ts';
import { errorMessage } from '../src/error-message.ts';

const usage = 'usage: npm run seed -- --demo | --cases <count> [--batch <cases per statement>]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      demo: { type: 'boolean', default: false },
      cases: { type: 'string' },
      batch: { type: 'string' },
    },
  });
  const cases = values.cases === undefined ? undefined : Number(values.cases);
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  const valid = (n: number | undefined) => n === undefined || (Number.isSafeInteger(n) && n > 0);
  if (values.demo === (cases !== undefined) || !valid(cases) || !valid(batch)) {
    console.error(usage);
    return 2;
  }
  const say = (msg: string) => console.log(`[seed] ${msg}`);
  const config = loadConfig();
  const database = await openDatabase(config, say, 4);
  try {
    await migrateToLatest(database.db);
    const started = Date.now();
    if (cases === undefined) {
      const seeded = await seedDemoData(database.db, say);
      say(seeded ? `done in ${Date.now() - started} ms` : 'skipped: the database already has customers');
      return 0;
    }
    const bar = progressBar(cases);
    const summary = await seedSyntheticData(database.db, {
      cases,
      batchSize: batch,
      timeZone: config.timeZone,
      onProgress: bar.update,
      log: (msg) => {
        bar.done();
        say(`${msg} (at ${((Date.now() - started) / 1000).toFixed(0)} s)`);
      },
    });
    bar.done();
    say(
      `${summary.cases} cases, ${summary.threadEntries} thread entries, ${summary.discussionPosts} discussion posts, ` +
        `${summary.customers} customers with ${summary.contacts} contacts, ${summary.users} agents ` +
        `in ${(summary.ms / 1000).toFixed(1)} s`,
    );
    say(`log in as KALLE (or any agent) with password "${syntheticAgentPassword}"`);
    return 0;
  } catch (error) {
    if (!(error instanceof SeedRefusedError)) throw error;
    console.error(`[seed] refused: ${error.message}`);
    return 2;
  } finally {
    await database.close();
  }
}

// A one-line bar on stderr, redrawn in place on a terminal and printed per batch otherwise.
function progressBar(total: number) {
  const started = Date.now();
  const width = 30;
  const tty = process.stderr.isTTY;
  let drawn = false;
  return {
    update(done: number) {
      drawn = true;
      const fraction = done / total;
      const elapsed = (Date.now() - started) / 1000;
      const eta = fraction > 0 ? elapsed / fraction - elapsed : 0;
      const filled = Math.round(fraction * width);
      const line =
        `[seed] [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${done}/${total} cases, ${elapsed.toFixed(0)} s, ~${eta.toFixed(0)} s left`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    done() {
      if (tty && drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`[seed] failed: ${errorMessage(error)}`);
    process.exit(1);
  },
);
