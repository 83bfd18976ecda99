import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Config } from '../config.ts';
import { withAdvisoryLock } from '../db/advisory-locks.ts';
import type { Db } from '../db/database.ts';

export type JobContext = { db: Db; config: Config; log: (message: string) => void };

export type Job = {
  name: string;
  // When node-cron wakes the job, in config.timeZone (five fields, or six with seconds first).
  cron: string;
  // The least time between two runs across all instances, read before each run, for intervals
  // that live in the settings rather than in the cron expression.
  everyMinutes?: (db: Db) => Promise<number>;
  // For jobs due at a time of day that lives in the settings: read under the lock before each run.
  isDue?: (ctx: JobContext, now: Date) => Promise<boolean>;
  // Returns a line saying what it did, or nothing when there was nothing to do.
  run: (ctx: JobContext) => Promise<string | undefined>;
};

export type JobOutcome =
  | { status: 'ok'; durationMs: number; summary?: string }
  | { status: 'failed'; durationMs: number; error: string }
  // another instance (or an earlier run here) is still at it
  | { status: 'busy' }
  // it ran less than everyMinutes ago
  | { status: 'not_due' };

// A run that starts this much early still counts as on time, as cron ticks and lock waits jitter.
const dueSlackMs = 15_000;
// Runs that did nothing are logged only when they were this slow.
const slowMs = 10_000;

async function isDue(db: Db, name: string, everyMinutes: number, now: Date): Promise<boolean> {
  const row = await db.selectFrom('jobs').select('last_started_at').where('name', '=', name).executeTakeFirst();
  if (!row?.last_started_at) return true;
  return now.getTime() - row.last_started_at.getTime() >= everyMinutes * 60_000 - dueSlackMs;
}

async function recordStart(db: Db, name: string, now: Date): Promise<void> {
  await db
    .insertInto('jobs')
    .values({ name, last_started_at: now, last_status: 'running', runs: 1 })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet({ last_started_at: now, last_status: 'running', runs: sql`jobs.runs + 1` }),
    )
    .execute();
}

async function recordFinish(db: Db, name: string, outcome: Extract<JobOutcome, { durationMs: number }>) {
  await db
    .updateTable('jobs')
    .set({
      last_finished_at: new Date(),
      last_duration_ms: Math.round(outcome.durationMs),
      last_status: outcome.status,
      last_error: outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null,
      last_summary: outcome.status === 'ok' ? (outcome.summary ?? null) : null,
    })
    .where('name', '=', name)
    .execute();
}

// One run of a job: under an advisory lock on its name, so no two instances (and no two ticks
// here) overlap; timed; recorded in jobs; errors logged, never thrown at the scheduler.
export async function runJob(ctx: JobContext, job: Job, now = new Date()): Promise<JobOutcome> {
  const { db, log } = ctx;
  let outcome: JobOutcome;
  try {
    const locked = await withAdvisoryLock(db, 'job', job.name, async (): Promise<JobOutcome> => {
      if (job.everyMinutes && !(await isDue(db, job.name, await job.everyMinutes(db), now))) {
        return { status: 'not_due' };
      }
      if (job.isDue && !(await job.isDue(ctx, now))) return { status: 'not_due' };
      await recordStart(db, job.name, now);
      const t0 = performance.now();
      let result: Extract<JobOutcome, { durationMs: number }>;
      try {
        const summary = await job.run(ctx);
        result = { status: 'ok', durationMs: performance.now() - t0, ...(summary ? { summary } : {}) };
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        result = { status: 'failed', durationMs: performance.now() - t0, error: text };
      }
      await recordFinish(db, job.name, result);
      return result;
    });
    outcome = locked.acquired ? locked.value : { status: 'busy' };
  } catch (error) {
    // The database itself failed (lock, bookkeeping); the next tick tries again.
    outcome = { status: 'failed', durationMs: 0, error: error instanceof Error ? error.message : String(error) };
  }
  if (outcome.status === 'failed')
    log(`job ${job.name}: failed after ${Math.round(outcome.durationMs)} ms: ${outcome.error}`);
  else if (outcome.status === 'ok' && (outcome.summary || outcome.durationMs >= slowMs)) {
    log(`job ${job.name}: ${outcome.summary ?? 'done'} (${Math.round(outcome.durationMs)} ms)`);
  }
  return outcome;
}
