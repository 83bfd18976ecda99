import { fileURLToPath } from 'node:url';
import { createDb } from '../db/database.ts';
import { type JobOutcome, runJob } from '../jobs/run-job.ts';
import { jobs } from '../jobs/schedule.ts';
import { forkedConfig, forkReady, isForkedAs } from './forked.ts';

// An instance's scheduler in a process of its own: run(name) runs that entry of THE schedule
// (src/jobs/schedule.ts) once, through runJob as the cron tick would, on the database at
// `databaseUrl`. Started ahead, so two of them let loose together run at the same moment, as the
// schedulers of two instances do when the same minute comes round on both.

export type JobProcess = {
  run: (job: string) => Promise<JobOutcome>;
  stop: () => Promise<void>;
  // kill -9, in the middle of whatever it is doing
  kill: () => Promise<void>;
  // everything it logged, for a failing test's message
  output: () => string;
};

const self = fileURLToPath(import.meta.url);

export async function startJobProcess(opts: { databaseUrl: string; smtpUrl?: string }): Promise<JobProcess> {
  const { child, exited, output } = await forkReady(
    self,
    '--jobs',
    { CASEDESK_JOB_DATABASE_URL: opts.databaseUrl, CASEDESK_JOB_SMTP_URL: opts.smtpUrl ?? '' },
    'job',
  );
  return {
    run: (job) =>
      new Promise<JobOutcome>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`the job process exited (${code}): ${output()}`));
        child.once('exit', onExit);
        child.once('message', (outcome) => {
          child.off('exit', onExit);
          resolve(outcome as JobOutcome);
        });
        child.send({ job });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    output,
  };
}

if (isForkedAs(self, '--jobs')) {
  const databaseUrl = process.env.CASEDESK_JOB_DATABASE_URL as string;
  const config = forkedConfig(databaseUrl, process.env.CASEDESK_JOB_SMTP_URL);
  const db = createDb(databaseUrl, 10);
  // The database connection is opened before the go, so the run does not wait for it.
  await db.selectFrom('jobs').select('name').limit(1).execute();
  process.on('message', (message: { job: string }) => {
    const job = jobs.find((j) => j.name === message.job);
    if (!job) throw new Error(`no job ${message.job} in the schedule`);
    void runJob({ db, config, log: (line) => console.error(line) }, job).then((outcome) => process.send?.(outcome));
  });
  process.once('SIGTERM', () => void db.destroy().finally(() => process.exit(0)));
  // the test that started it is gone
  process.once('disconnect', () => process.exit(0));
  process.send?.('ready');
}
