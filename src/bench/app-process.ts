import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryEnv, memoryNodeFlags } from '../process-memory.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// output(): the last 16 kB the app wrote (stdout and stderr), to show when it answers 500.
export type AppProcess = { baseUrl: string; pid: number; output: () => string; stop: () => Promise<void> };

// How the app is started: as production runs it (compiled dist/, see the Dockerfile), or through
// the tsx loader as tests do. The benches compile first (compileApp) and measure dist/: tsx adds
// its loader's memory and start time to what is measured.
let runtime: 'dist' | 'tsx' = 'tsx';

// `npm run build` once, then every startApp of this process runs dist/src/server.js.
export async function compileApp(): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await new Promise<void>((resolve, reject) => {
    const child = spawn(npm, ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}`))));
  });
  runtime = 'dist';
}

async function findFreePort(): Promise<number> {
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

// The app as it runs in production (cached templates, warn-level log), in a process of its own
// so its memory can be read from /proc and the load generator does not share its event loop.
// `env` adds or overrides variables (SMTP_URL, MAIL_SENDER, …).
// `startTimeoutMs`: how long it may take to answer /healthz (a cluster on a busy machine is slower).
export async function startApp(
  databaseUrl: string,
  env: Record<string, string> = {},
  // nodeArgs: flags for node itself, e.g. --cpu-prof, which NODE_OPTIONS may not carry (a cluster's
  // workers inherit them from the primary)
  { startTimeoutMs = 60_000, nodeArgs = [] as string[] } = {},
): Promise<AppProcess> {
  const port = await findFreePort();
  const entry = runtime === 'dist' ? ['dist/src/server.js'] : ['--import', 'tsx', 'src/server.ts'];
  // as production starts it (src/process-memory.ts)
  const args = [...memoryNodeFlags, ...nodeArgs, ...entry];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      // One process unless asked: a bench or test says how many it measures.
      WEB_CONCURRENCY: '1',
      ...memoryEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited with code ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`the app did not answer /healthz within ${startTimeoutMs / 1000} s:\n${output}`);
    }
    const ok = await fetch(`${baseUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (child.pid === undefined) throw new Error('the app has no process id');
  return { baseUrl, pid: child.pid, output: () => output, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export type MemorySample = { rssKb: number; hwmKb: number };

async function readMemory(pid: number): Promise<MemorySample | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return null;
  }
}

async function childPids(pid: number): Promise<number[]> {
  const list = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return list.split(/\s+/).filter(Boolean).map(Number);
}

// Samples the process's resident memory every 200 ms; peak() is the highest seen since the
// last reset, hwm the kernel's own high-water mark over the process's whole life. With
// `children` (a cluster's primary) it watches each child too and reports the largest one
// process reached, as the limit is per web process.
export function watchMemory(pid: number, everyMs = 200, children = false) {
  let peakKb = 0;
  let hwmKb = 0;
  const sample = async () => {
    const pids = children ? [pid, ...(await childPids(pid))] : [pid];
    for (const m of await Promise.all(pids.map(readMemory))) {
      if (!m) continue;
      peakKb = Math.max(peakKb, m.rssKb);
      hwmKb = Math.max(hwmKb, m.hwmKb);
    }
  };
  const timer = setInterval(() => void sample(), everyMs);
  void sample();
  return {
    peak: () => peakKb,
    hwm: () => hwmKb,
    reset: () => {
      peakKb = 0;
    },
    stop: async () => {
      clearInterval(timer);
      await sample();
    },
  };
}
