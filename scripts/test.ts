// npm test: one template database migrated once, then every test file clones its own fresh copy.
// Uses TEST_DATABASE_URL or DATABASE_URL (any database on the server; we create our own),
// else starts an embedded PostgreSQL. Ends with the line "N passed, N failed".
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { type EmbeddedServer, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { cpuMarker, cpuMsOfProcess } from './test-cpu.ts';
import type { WorkerReport } from './test-worker.ts';

// `npm test -- customers` runs only the test files whose path matches "customers".
const only = process.argv[2];
const pattern = new RegExp(only ? `^(?=.*(?:${only})).*\\.test\\.ts$` : '\\.test\\.ts$');
// Test files run in parallel, each on its own cloned database. The machine's cores plus two keeps
// both cores busy while files wait on the database, a browser or a mail server: on this 2-core
// machine 4 at a time ran the suite in 169 s where 3 took 185 s (clean clone, nothing cached).
const concurrency = Number(process.env.TEST_CONCURRENCY) || os.availableParallelism() + 2;
const fileTimeoutMs = 5 * 60_000;
const started = Date.now();

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

    const files = await findTestFiles('src', pattern);
    const results = await runFiles(await longestFirst(files), {
      ...process.env,
      CASEDESK_TEST_SERVER_URL: serverUrl,
      CASEDESK_TEST_TEMPLATE: template,
      FORCE_COLOR: '0',
      NO_COLOR: '1',
    });
    await cleanUp(admin, template);
    const sum = (key: keyof FileResult) => results.reduce((n, r) => n + Number(r[key]), 0);
    const [passed, failed, skipped] = [sum('passed'), sum('failed'), sum('skipped')];
    const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const cpuMs = sum('cpuMs');
    console.log(
      `\n${results.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s, ${concurrency} at a time; ` +
        `test processes used ${(cpuMs / 1000).toFixed(1)} s of CPU.`,
    );
    console.log(`Slowest: ${slowest.map((r) => `${r.file} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}`);
    if (!only) console.log(`Times per file: ${await writeTimings(results)}`);
    const failedFiles = results.filter((r) => r.failed > 0);
    if (failedFiles.length) console.log(`Failed: ${failedFiles.map((r) => r.file).join(', ')}`);
    console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    return failed === 0 && passed > 0 ? 0 : 1;
  } finally {
    await admin.end();
    await embedded?.stop();
  }
}

// ms: wall time from start to end; cpuMs: CPU of its process and of programs it waited for
type FileResult = { file: string; passed: number; failed: number; skipped: number; ms: number; cpuMs: number };

// A whole run leaves each file's wall and CPU time in test-results/, slowest first: the table to
// read when the suite gets slow, and the order the next run starts files in.
const timingsFile = 'test-results/timings.json';

async function writeTimings(results: FileResult[]): Promise<string> {
  const rows = [...results].sort((a, b) => b.ms - a.ms);
  await mkdir(path.dirname(timingsFile), { recursive: true });
  await writeFile(
    timingsFile,
    `${JSON.stringify(
      rows.map(({ file, ms, cpuMs, passed, failed, skipped }) => ({ file, ms, cpuMs, passed, failed, skipped })),
      null,
      1,
    )}\n`,
  );
  const table = rows.map(
    (r) =>
      `${(r.ms / 1000).toFixed(1).padStart(7)} ${(r.cpuMs / 1000).toFixed(1).padStart(7)} ` +
      `${String(r.passed + r.failed + r.skipped).padStart(5)}  ${r.file}`,
  );
  const textFile = timingsFile.replace(/\.json$/, '.txt');
  await writeFile(textFile, `${['wall s', ' CPU s', 'tests', ' file'].join('  ')}\n${table.join('\n')}\n`);
  return textFile;
}

// Longest first, so no long file starts last and trails the run on its own: by the times the
// last whole run recorded, else (a fresh clone) by what the file does.
async function longestFirst(files: string[]): Promise<string[]> {
  const recorded = new Map<string, number>();
  try {
    const rows = JSON.parse(await readFile(timingsFile, 'utf8')) as { file: string; ms: number }[];
    for (const { file, ms } of rows) recorded.set(file, ms);
  } catch {
    // no earlier run here
  }
  // a file the last run did not have keeps its place among the new ones, ahead of the rest
  const ms = (f: string) => recorded.get(f) ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => ms(b) - ms(a));
}

async function findTestFiles(dir: string, match: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => match.test(f));
  // The longest files (the fuzz and crash tests, real servers, browsers) start first, so they do
  // not trail the run on their own.
  const weight = (f: string) =>
    /fuzz|redirect|embedded|crash|corpus|bad-mail|cluster/.test(f)
      ? 0
      : f.includes('.browser.')
        ? 1
        : /inbound|outbound|kontroll/.test(f)
          ? 2
          : 3;
  return files.sort((a, b) => weight(a) - weight(b) || a.localeCompare(b));
}

// Files that change process-wide state (crash handlers, servers they kill, a nested test run)
// get a process of their own; the rest share one worker per slot. The long fuzz and redirect
// sweeps share one too: they start first, so their worker has the app loaded for the files after
// them, and the two processes of their own cost about 2.5 s of CPU each just to load it.
const ownProcess = /crash|embedded|system-packages/;

async function runFiles(files: string[], env: NodeJS.ProcessEnv): Promise<FileResult[]> {
  const queue = [...files];
  const results: FileResult[] = [];
  const slot = async () => {
    const worker = new Worker(env);
    for (let file = queue.shift(); file; file = queue.shift()) {
      const t0 = Date.now();
      const run = ownProcess.test(file) ? await runAlone(file, env) : await worker.run(file);
      results.push(report(file, run, Date.now() - t0));
    }
    worker.stop();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, slot));
  return results;
}

type Run = { output: string; exitCode: number; cpuMs: number };

// Counts one file's tests from uvu's summary and prints its output whole, so parallel files do
// not interleave.
function report(file: string, { output, exitCode, cpuMs }: Run, ms: number): FileResult {
  const plain = stripVTControlCharacters(output);
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const [total, passed, skipped] = [count('Total'), count('Passed'), count('Skipped')];
  // A file that ends non-zero without a failed test (a hook threw, the process crashed) still
  // counts as one failure.
  const failed = Math.max(total - passed, exitCode === 0 ? 0 : 1);
  process.stdout.write(
    `\n=== ${file} (${(ms / 1000).toFixed(1)} s, CPU ${(cpuMs / 1000).toFixed(1)} s)\n${output.trimEnd()}\n`,
  );
  return { file, passed, failed, skipped, ms, cpuMs };
}

// One file in its own Node process: a crash or a stray handle in it cannot touch the others.
function runAlone(file: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const reporter = path.join(import.meta.dirname, 'test-cpu-report.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', reporter, file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let lingering: NodeJS.Timeout | undefined;
  let cpuMs = 0;
  const kill = () => {
    cpuMs = cpuMsOfProcess(child.pid ?? 0) ?? 0;
    child.kill('SIGKILL');
  };
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    // uvu has printed its summary: a file that keeps a handle open (a pool, a timer) is done
    // all the same, and is not left to hang the run.
    if (!lingering && /Duration:/.test(output)) lingering = setTimeout(kill, 10_000);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // A file that hangs is stopped, so a run always ends with its counts.
  const timer = setTimeout(() => {
    output += `\n${file}: stopped after ${fileTimeoutMs / 60_000} minutes\n`;
    kill();
  }, fileTimeoutMs);
  return new Promise((resolve) => {
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      // the CPU line the process ended with (the last one: a nested test run prints its own)
      const at = output.lastIndexOf(cpuMarker);
      if (at >= 0) {
        cpuMs = Number(/^\d+/.exec(output.slice(at + cpuMarker.length))?.[0] ?? cpuMs);
        output = output.slice(0, at).trimEnd() + output.slice(at + cpuMarker.length).replace(/^\d+\n?/, '');
      }
      resolve({ output, exitCode: exitCode ?? (lingering ? 0 : 1), cpuMs });
    });
  });
}

// A slot's long-lived process (scripts/test-worker.ts), started on first use. If a file crashes
// it or hangs, that file fails and the next file gets a fresh worker.
class Worker {
  private child: ChildProcess | undefined;
  private onStray: (chunk: Buffer) => void = () => {};
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  run(file: string): Promise<Run> {
    const child = this.start();
    let output = '';
    return new Promise((resolve) => {
      const finish = (run: Run) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(run);
      };
      this.onStray = (chunk) => {
        output += chunk.toString();
      };
      const onMessage = (message: WorkerReport) => {
        if (message.type === 'output') output += message.text;
        else finish({ output, exitCode: message.exitCode, cpuMs: message.cpuMs });
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        finish({
          output: `${output}\n${file}: the test process ended (${signal ?? code}) before the file did\n`,
          exitCode: 1,
          cpuMs: 0,
        });
      };
      const timer = setTimeout(() => {
        output += `\n${file}: stopped after ${fileTimeoutMs / 60_000} minutes\n`;
        child.kill('SIGKILL');
      }, fileTimeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ file });
    });
  }

  stop() {
    this.child?.kill('SIGKILL');
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(path.join(import.meta.dirname, 'test-worker.ts'), [], {
      env: this.env,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // What bypasses the worker's patched streams (Node's report of an uncaught error, a program
    // a test started with inherited output) goes to the file running at the time.
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => this.onStray(chunk));
    this.child = child;
    return child;
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
