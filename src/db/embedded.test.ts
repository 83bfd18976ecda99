import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { logIn } from '../bench/session.ts';
import { isAlive, startEmbeddedPostgres } from './embedded.ts';

// These start real PostgreSQL servers, each in a data dir of its own under one temporary root,
// and the app and scripts as the separate processes they are in real life.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ctx = { dir: '', children: [] as ChildProcess[], app: undefined as App | undefined };
const test = suite('Embedded PostgreSQL: a password of its own, one server per data dir, errors that say what to do');

test.before(() => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'casedesk-embedded-'));
  // Run as root, the server runs as the user "postgres", which must be able to reach it.
  chmodSync(ctx.dir, 0o755);
});
test.after(async () => {
  for (const child of ctx.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const name of readdirSync(ctx.dir)) await stopLeftOverServer(path.join(ctx.dir, name, 'pg'));
  rmSync(ctx.dir, { recursive: true, force: true });
});

test('a new data dir gets a generated password only its owner can read, and listens on 127.0.0.1 only', async () => {
  const dataDir = path.join(ctx.dir, 'fresh');
  const server = await startEmbeddedPostgres(dataDir, await freePort(), () => {});
  try {
    const file = path.join(dataDir, 'pg-password');
    const stat = statSync(file);
    assert.is(stat.mode & 0o777, 0o600);
    assert.is(stat.uid, process.getuid?.());
    const password = readFileSync(file, 'utf8').trim();
    assert.ok(password.length >= 32, 'a long random password');
    assert.is(await refusal(server.url, 'casedesk'), '28P01', 'the old fixed password is refused');
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      assert.is((await client.query('show listen_addresses')).rows[0].listen_addresses, '127.0.0.1');
      assert.is((await client.query('show unix_socket_directories')).rows[0].unix_socket_directories, '');
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
  assert.not.ok(isAlive(server.pid), 'the last one to leave stops the server');
});

test('a data dir made with the old fixed password keeps working and gets a generated password', async () => {
  const dataDir = path.join(ctx.dir, 'fresh');
  const port = await freePort();
  // The state every data dir from before pg-password is in.
  const before = await startEmbeddedPostgres(dataDir, port, () => {});
  await withClient(before.url, (c) => c.query(`alter role postgres password 'casedesk'`));
  await before.stop();
  rmSync(path.join(dataDir, 'pg-password'));

  const said: string[] = [];
  const server = await startEmbeddedPostgres(dataDir, port, (msg) => said.push(msg));
  try {
    const password = readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
    assert.is.not(password, 'casedesk');
    assert.is(statSync(path.join(dataDir, 'pg-password')).mode & 0o777, 0o600);
    const { rows } = await withClient(server.url, (c) => c.query('select current_database() as name'));
    assert.is(rows[0].name, 'casedesk');
    assert.is(await refusal(server.url, 'casedesk'), '28P01');
    assert.match(said.join('\n'), /fixed password is replaced/);
  } finally {
    await server.stop();
  }
});

test('after kill -9 of the app, the next npm start serves /healthz again', async () => {
  const first = await startApp('app');
  first.child.kill('SIGKILL');
  await first.exited;
  const pid = Number(readFileSync(path.join(ctx.dir, 'app', 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  assert.ok(isAlive(pid), 'the killed app left its PostgreSQL running');

  const second = await startApp('app', first.ports);
  ctx.app = second;
  assert.match(second.output(), /already running/);
  assert.not.match(first.output() + second.output(), /undefined/);
});

test('a script run while the app runs uses its server and leaves it running; stopping the app stops it', async () => {
  const app = ctx.app ?? (await startApp('app'));
  const script = await runScript(app, 'create-user.ts', [
    '--login',
    'NILS',
    '--name',
    'Nils Holgersson',
    '--role',
    'agent',
    '--password',
    'gåsen-akka-1910',
  ]);
  assert.is(script.code, 0, script.output);
  assert.not.match(script.output, /undefined/);
  // The user the script made is in the app's database, and the app still has its database.
  await logIn(app.baseUrl, 'NILS', 'gåsen-akka-1910');
  assert.is((await fetch(`${app.baseUrl}/healthz`)).status, 200);

  const pid = Number(readFileSync(path.join(app.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  app.child.kill('SIGTERM');
  assert.is(await app.exited, 0, app.output());
  assert.not.ok(isAlive(pid), 'no PostgreSQL is left behind');
  assert.not.ok(existsSync(path.join(app.dataDir, 'pg', 'postmaster.pid')));
});

test('a script with no server running starts its own and stops it when done', async () => {
  const ports = await freePorts();
  const script = await runScript({ dataDir: path.join(ctx.dir, 'app'), ports }, 'migrate.ts', []);
  assert.is(script.code, 0, script.output);
  assert.match(script.output, /started PostgreSQL/);
  assert.match(script.output, /stopped PostgreSQL/);
  assert.not.ok(existsSync(path.join(ctx.dir, 'app', 'pg', 'postmaster.pid')));
});

test('a DATA_DIR the database user cannot reach is refused with the directory in the way and what to do', async () => {
  const closed = mkdtempSync(path.join(ctx.dir, 'closed-'));
  const dataDir = path.join(closed, 'data');
  const runningAsRoot = process.getuid?.() === 0;
  // As root the server runs as "postgres", which may not enter a 0700 directory of root's; an
  // ordinary user may not create anything in a directory without write access.
  chmodSync(closed, runningAsRoot ? 0o700 : 0o500);
  try {
    await startEmbeddedPostgres(dataDir, await freePort(), () => {});
    assert.unreachable('started in a directory it cannot reach');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    assert.match(message, closed);
    assert.match(message, /DATA_DIR/);
    assert.match(message, runningAsRoot ? /"postgres".*chmod o\+x/ : /chown or chmod/);
  } finally {
    chmodSync(closed, 0o755);
  }
});

type Ports = { app: number; pg: number };
type App = {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  baseUrl: string;
  dataDir: string;
  ports: Ports;
};

function envFor(dataDir: string, ports: Ports): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    PORT: String(ports.app),
    HOST: '127.0.0.1',
    EMBEDDED_PG_PORT: String(ports.pg),
    DEMO: 'false',
    JOBS: 'false',
    MAIL_SENDER: 'false',
    LOG_LEVEL: 'warn',
    ADMIN_PASSWORD: 'nils-karlsson-pyssling',
  };
  delete env.DATABASE_URL;
  return env;
}

function track(child: ChildProcess): { exited: Promise<number | null>; output: () => string } {
  ctx.children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { exited, output: () => output };
}

// `npm start` as it runs for real, waited for until /healthz answers (or it exits).
async function startApp(name: string, ports?: Ports): Promise<App> {
  const dataDir = path.join(ctx.dir, name);
  const chosen = ports ?? (await freePorts());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: envFor(dataDir, chosen),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, output } = track(child);
  const baseUrl = `http://127.0.0.1:${chosen.app}`;
  // Not a timing: only a guard so that a hung start fails the test instead of hanging the run.
  const giveUp = Date.now() + 300_000;
  while (child.exitCode === null && Date.now() < giveUp) {
    const ok = await fetch(`${baseUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, exited, output, baseUrl, dataDir, ports: chosen };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`the app never answered /healthz (exit code ${child.exitCode}):\n${output()}`);
}

async function runScript(
  where: { dataDir: string; ports: Ports },
  script: string,
  args: string[],
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}`, ...args], {
    cwd: root,
    env: envFor(where.dataDir, where.ports),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, output } = track(child);
  const code = await exited;
  return { code, output: output() };
}

// Two ports for the app and its PostgreSQL: each probe's port is free again once it is closed, so
// the second probe can get the first's back (then the app found PostgreSQL on its own port).
async function freePorts(): Promise<Ports> {
  const app = await freePort();
  let pg = await freePort();
  while (pg === app) pg = await freePort();
  return { app, pg };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// The SQLSTATE with which the server refuses this password, or null when it lets it in.
async function refusal(url: string, password: string): Promise<string | null> {
  const u = new URL(url);
  u.password = password;
  try {
    await withClient(u.toString(), async () => {});
    return null;
  } catch (error) {
    return error instanceof Error && 'code' in error ? String(error.code) : 'other';
  }
}

// A failed test can leave a server running; it is stopped the way pg_ctl does (SIGINT: fast).
async function stopLeftOverServer(databaseDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!pid || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 300 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

test.run();
