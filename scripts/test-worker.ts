// A long-lived test process (scripts/test.ts starts one per slot): it runs one test file per
// message, one after another. Loading the app and its libraries costs a Node process about two
// seconds of CPU; paid once per worker instead of once per file, that is most of a 2-core
// machine's minute. Each file still gets its own cloned database (test-support/database.ts).
// Files that touch process-wide state (crash handlers, killing servers, a nested npm test) run
// in their own process instead; scripts/test.ts decides which.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpuMsOfProcess } from './test-cpu.ts';

type Message = { file: string };
// cpuMs: the worker's CPU time for the file, with that of programs it started and waited for (a
// browser shared with the next file is not counted)
export type WorkerReport = { type: 'output'; text: string } | { type: 'done'; exitCode: number; cpuMs: number };

// uvu queues each suite instead of running it on a timer, so the worker knows when a file ends.
(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
const { exec } = await import('uvu');

const send = (report: WorkerReport) => process.send?.(report);
// What a file prints travels with the IPC reports, so it stays in order with its 'done'.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    send({ type: 'output', text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString() });
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

process.on('message', (message: Message) => {
  void runFile(message.file);
});
// The parent going away ends the worker, whatever handles a test file left open.
process.on('disconnect', () => process.exit(0));

async function runFile(file: string) {
  const queue = globalThis as { UVU_QUEUE?: unknown[][]; UVU_INDEX?: number };
  queue.UVU_QUEUE = [[null]];
  queue.UVU_INDEX = 0;
  process.exitCode = 0;
  const cpu = process.cpuUsage();
  const cpuWithChildren = cpuMsOfProcess();
  // needs() and error messages name the file from argv, as they would in a process of its own
  process.argv[1] = path.resolve(file);
  try {
    await import(pathToFileURL(path.resolve(file)).href);
    await exec();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
  const used = process.cpuUsage(cpu);
  const withChildren = cpuMsOfProcess();
  const cpuMs =
    cpuWithChildren === undefined || withChildren === undefined
      ? (used.user + used.system) / 1000
      : withChildren - cpuWithChildren;
  send({ type: 'done', exitCode: Number(process.exitCode ?? 0), cpuMs });
}
