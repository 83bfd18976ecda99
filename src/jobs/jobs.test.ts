import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { describeReadReports } from '../mail/inbound/read-mail.ts';
import { testConfig } from '../test-support/app.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { type Job, type JobContext, runJob } from './run-job.ts';
import { jobs, startSchedule } from './schedule.ts';

const ctx = {} as { db: Db; drop: () => Promise<void>; config: Config; logs: string[]; job: JobContext };
const test = suite('Scheduled jobs');

test.before(async () => {
  const t = await createTestDatabase();
  Object.assign(ctx, { db: t.db, drop: t.drop, config: testConfig(), logs: [] });
  ctx.job = { db: ctx.db, config: ctx.config, log: (message) => ctx.logs.push(message) };
});
test.after(async () => {
  await ctx.drop();
});

const jobRow = (name: string) => ctx.db.selectFrom('jobs').selectAll().where('name', '=', name).executeTakeFirst();

test('a run is timed and recorded, and what it did is logged', async () => {
  const outcome = await runJob(ctx.job, { name: 'tidy', cron: '* * * * *', run: async () => '2 things tidied' });
  assert.is(outcome.status, 'ok');
  const row = await jobRow('tidy');
  assert.is(row?.last_status, 'ok');
  assert.is(row?.last_summary, '2 things tidied');
  assert.is(row?.runs, 1);
  assert.ok(row?.last_finished_at && row.last_duration_ms !== null);
  assert.ok(ctx.logs.some((l) => l.startsWith('job tidy: 2 things tidied (')));
});

test('a failing job is logged and recorded, never thrown at the scheduler', async () => {
  const outcome = await runJob(ctx.job, {
    name: 'broken',
    cron: '* * * * *',
    run: async () => {
      throw new Error('the disk is full');
    },
  });
  assert.is(outcome.status, 'failed');
  const row = await jobRow('broken');
  assert.is(row?.last_status, 'failed');
  assert.is(row?.last_error, 'the disk is full');
  assert.ok(ctx.logs.some((l) => l.includes('job broken: failed') && l.includes('the disk is full')));
});

test('two runs of one job at once (two instances): the second is told it is busy', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started = 0;
  const slow: Job = {
    name: 'slow',
    cron: '* * * * *',
    run: async () => {
      started += 1;
      await gate;
      return undefined;
    },
  };
  const first = runJob(ctx.job, slow);
  while (started === 0) await new Promise((r) => setTimeout(r, 5));
  const second = await runJob(ctx.job, slow);
  assert.equal(second, { status: 'busy' });
  release();
  assert.is((await first).status, 'ok');
  assert.is(started, 1);
  // Released: the next run goes ahead.
  assert.is((await runJob(ctx.job, slow)).status, 'ok');
});

test('a job with an interval from the settings runs only once that much time has passed', async () => {
  let runs = 0;
  const every: Job = {
    name: 'every-5',
    cron: '* * * * *',
    everyMinutes: async () => 5,
    run: async () => {
      runs += 1;
      return undefined;
    },
  };
  const t0 = new Date('2026-11-27T10:00:00Z');
  assert.is((await runJob(ctx.job, every, t0)).status, 'ok');
  assert.is((await runJob(ctx.job, every, new Date('2026-11-27T10:01:00Z'))).status, 'not_due');
  assert.is((await runJob(ctx.job, every, new Date('2026-11-27T10:04:00Z'))).status, 'not_due');
  assert.is((await runJob(ctx.job, every, new Date('2026-11-27T10:05:00Z'))).status, 'ok');
  assert.is(runs, 2);
});

test('the schedule lists Read mail, every minute, paced by case_settings.read_mail_every_minutes', async () => {
  const readMail = jobs.find((j) => j.name === 'read-mail');
  assert.ok(readMail);
  assert.is(readMail.cron, '* * * * *');
  await ctx.db.updateTable('case_settings').set({ read_mail_every_minutes: 7 }).execute();
  assert.is(await readMail.everyMinutes?.(ctx.db), 7);
  // No mailbox is set up: a run does nothing, says nothing and succeeds.
  const before = ctx.logs.length;
  assert.is((await runJob(ctx.job, readMail)).status, 'ok');
  assert.is(ctx.logs.length, before);
});

test('the hourly purge deletes login attempts older than a day, and keeps the recent ones the throttle counts', async () => {
  const purge = jobs.find((j) => j.name === 'purge-login-attempts');
  assert.ok(purge);
  assert.is(purge.cron, '17 * * * *');
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
  await ctx.db
    .insertInto('login_attempts')
    .values([
      { login: 'OLD', ip: '10.0.0.1', succeeded: false, created_at: hoursAgo(25) },
      { login: 'OLD', ip: '10.0.0.1', succeeded: true, created_at: hoursAgo(24 * 30) },
      // a check that never finished (the process died) goes too
      { login: 'OLD', ip: '10.0.0.2', succeeded: null, created_at: hoursAgo(48) },
      { login: 'RECENT', ip: '10.0.0.1', succeeded: false, created_at: hoursAgo(23) },
      { login: 'RECENT', ip: '10.0.0.1', succeeded: false, created_at: new Date() },
    ])
    .execute();
  const outcome = await runJob(ctx.job, purge);
  assert.equal(outcome.status === 'ok' && outcome.summary, '3 login attempts older than 24 hours deleted');
  const left = await ctx.db.selectFrom('login_attempts').select('login').orderBy('created_at').execute();
  assert.equal(
    left.map((row) => row.login),
    ['RECENT', 'RECENT'],
  );
  assert.equal(await runJob(ctx.job, purge).then((o) => o.status === 'ok' && o.summary), undefined, 'then nothing');
});

test('the hourly purge deletes expired sessions and keeps the live ones', async () => {
  const purge = jobs.find((j) => j.name === 'purge-expired-sessions');
  assert.ok(purge);
  const session = (sid: string, expiresInMs: number) => ({
    sid,
    data: JSON.stringify({ cookie: {} }),
    user_id: null,
    expires_at: new Date(Date.now() + expiresInMs),
  });
  await ctx.db
    .insertInto('sessions')
    .values([session('expired-long-ago', -86_400_000), session('expired-now', -1_000), session('live', 3_600_000)])
    .execute();
  const outcome = await runJob(ctx.job, purge);
  assert.equal(outcome.status === 'ok' && outcome.summary, '2 expired sessions deleted');
  const left = await ctx.db.selectFrom('sessions').select('sid').execute();
  assert.equal(
    left.map((row) => row.sid),
    ['live'],
  );
});

test('startSchedule runs its entries on time and stop() waits for a run under way', async () => {
  let runs = 0;
  let finished = 0;
  const schedule = startSchedule(ctx.job, [
    {
      name: 'every-second',
      cron: '* * * * * *',
      run: async () => {
        runs += 1;
        await new Promise((r) => setTimeout(r, 300));
        finished += 1;
        return undefined;
      },
    },
  ]);
  const deadline = Date.now() + 5000;
  while (runs === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await schedule.stop();
  assert.ok(runs >= 1, 'ran at least once');
  assert.is(finished, runs, 'no run was cut off by stop()');
  const after = runs;
  await new Promise((r) => setTimeout(r, 1200));
  assert.is(runs, after, 'nothing runs after stop()');
});

test('a Read mail report becomes one log line, leaving out mailboxes where nothing happened', () => {
  const base = { created: 0, appended: 0, ignored: 0, failed: 0, duplicates: 0 };
  assert.is(describeReadReports([]), undefined);
  assert.is(describeReadReports([{ mailbox: { id: 1, name: 'Support' }, ...base }]), undefined);
  assert.is(
    describeReadReports([
      { mailbox: { id: 1, name: 'Support' }, ...base, created: 2, appended: 1 },
      { mailbox: { id: 2, name: 'Sales' }, ...base, busy: true },
      { mailbox: { id: 3, name: 'Old' }, ...base, error: 'Authentication failed.' },
    ]),
    'Support: 2 created, 1 appended; Old: error: Authentication failed.',
  );
});

test.run();
