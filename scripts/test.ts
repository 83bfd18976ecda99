// npm test: one template database migrated once, then every test file clones its own fresh copy.
// Uses TEST_DATABASE_URL or DATABASE_URL (any database on the server; we create our own),
// else starts an embedded PostgreSQL. Ends with the line "N passed, N failed".
import { spawn } from 'node:child_process';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

// `npm test -- customers` runs only the test files whose path matches "customers".
const only = process.argv[2];
const pattern = only ? `^(?=.*(?:${only})).*\\.test\\.ts$` : '\\.test\\.ts$';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main(): Promise<number> {
  const config = loadConfig();
  let embedded: EmbeddedServer | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL || config.databaseUrl;
  if (!serverUrl) {
    embedded = await startEmbeddedPostgres(path.join(config.dataDir, 'test'), config.embeddedPgPort + 1, console.log);
    serverUrl = embedded.url;
  }
  const adminUrl = withDatabase(serverUrl, 'postgres');
  const template = `casedesk_test_tpl_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${template}`);
    await admin.query(`create database ${template}`);
    const db = createDb(withDatabase(serverUrl, template), 2);
    await migrateToLatest(db);
    await db.destroy();

    const child = spawn(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'src', pattern], {
      env: {
        ...process.env,
        CASEDESK_TEST_SERVER_URL: serverUrl,
        CASEDESK_TEST_TEMPLATE: template,
        FORCE_COLOR: '0',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    const plain = stripVTControlCharacters(output);
    const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
    const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
    const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
    const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
    await cleanUp(admin, template);
    console.log(`${passed} passed, ${failed} failed`);
    return code === 0 && failed === 0 && passed > 0 ? 0 : 1;
  } finally {
    await admin.end();
    await embedded?.stop();
  }
}

async function cleanUp(admin: pg.Client, template: string): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    `select datname from pg_database where datname like $1 or datname = $2`,
    [`${template}_%`, template],
  );
  for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
