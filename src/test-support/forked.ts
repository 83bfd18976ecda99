import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../config.ts';
import { loadConfig } from '../config.ts';

// A test helper process of its own (the outbox sender a test kills, an instance's scheduler): the
// file forks itself with `flag`, and the child says it is ready before anything is asked of it.

export type Forked = {
  child: ChildProcess;
  exited: Promise<void>;
  // everything it logged (to stderr), for a failing test's message
  output: () => string;
};

// Forks `file` (the caller's own module) with `flag` and waits for its first message.
export async function forkReady(
  file: string,
  flag: string,
  env: Record<string, string>,
  what: string,
): Promise<Forked> {
  const child = fork(file, [flag], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the ${what} process exited (${code}): ${output}`)));
  });
  return { child, exited, output: () => output };
}

// In the child: whether this process is `file` forked with `flag`.
export const isForkedAs = (file: string, flag: string): boolean =>
  Boolean(process.argv[1]) && path.resolve(process.argv[1] as string) === file && process.argv.includes(flag);

// In the child: the test configuration for its database and SMTP server.
export function forkedConfig(databaseUrl: string, smtpUrl: string | undefined): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    SESSION_SECRET: 'x'.repeat(40),
    DATABASE_URL: databaseUrl,
    SMTP_URL: smtpUrl,
    // the tests' webhook receivers listen on loopback
    WEBHOOK_ALLOWED_ADDRESSES: '127.0.0.1',
  });
}
