import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestSmtpServer } from '../test-support/smtp.ts';

// The test SMTP server (src/test-support/smtp.ts) in a process of its own: it parses every
// message it accepts, and that work must not share the event loop of the sender being timed.
// The parent asks over IPC how many messages have arrived.

type Reply = { type: 'ready'; port: number; url: string } | { type: 'count'; received: number; attempts: number };

export type SmtpProcess = {
  url: string;
  port: number;
  // Messages accepted so far (and SMTP DATA attempts, refused ones included).
  count: () => Promise<{ received: number; attempts: number }>;
  stop: () => Promise<void>;
};

const self = fileURLToPath(import.meta.url);

export async function startSmtpProcess(): Promise<SmtpProcess> {
  const child: ChildProcess = fork(self, ['--serve'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends Reply['type']>(type: T) =>
    new Promise<Extract<Reply, { type: T }>>((resolve, reject) => {
      const onMessage = (message: Reply) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<Reply, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the SMTP server process exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  return {
    url: ready.url,
    port: ready.port,
    count: async () => {
      const answer = next('count');
      child.send({ type: 'count' });
      const { received, attempts } = await answer;
      return { received, attempts };
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === self && process.argv.includes('--serve')) {
  const server = await startTestSmtpServer();
  // Every message is accepted (250), so each DATA attempt is a delivery; only counts matter
  // here, and the parsed messages would otherwise pile up in memory.
  let accepted = 0;
  const trim = setInterval(() => {
    accepted += server.received.length;
    server.received.length = 0;
  }, 1000);
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'count') return;
    accepted += server.received.length;
    server.received.length = 0;
    process.send?.({ type: 'count', received: accepted, attempts: server.attempts() });
  });
  process.on('SIGTERM', () => {
    clearInterval(trim);
    void server.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: server.port, url: server.url });
}
