import cron, { type ScheduledTask } from 'node-cron';
import { purgeOldRateLimits } from '../api/rate-limit-store.ts';
import { foldTileCounts } from '../cases/tile-counts.ts';
import { forgetOldFormKeys } from '../db/form-keys.ts';
import { isScheduledKontrollDue, kontrollJobName, runScheduledKontroll } from '../kontroll/kontroll.ts';
import { readMailEveryMinutes, readMailOnSchedule } from '../mail/inbound/read-mail.ts';
import { foldReportTimes } from '../reports/facts.ts';
import { describeEscalation, runSlaEscalation } from '../service-levels/escalation.ts';
import { keepLoginAttemptsHours, purgeOldLoginAttempts } from '../users/login.ts';
import { purgeExpiredSessions } from '../users/sessions.ts';
import { deliverDueWebhooks, purgeOldDeliveries } from '../webhooks/deliver.ts';
import { type Job, type JobContext, runJob } from './run-job.ts';

// THE list of background jobs. Each entry is one line into a domain call; run-job.ts adds the
// lock, the timing and the logging. Cron expressions are read in config.timeZone.
export const jobs: Job[] = [
  // Every minute, and skipped until case_settings.read_mail_every_minutes have passed.
  {
    name: 'read-mail',
    cron: '* * * * *',
    everyMinutes: readMailEveryMinutes,
    run: (c) => readMailOnSchedule(c.db, c.config),
  },
  // Every minute, and runs once a day from case_settings.kontroll_run_at (default 07:00).
  {
    name: kontrollJobName,
    cron: '* * * * *',
    isDue: (c, now) => isScheduledKontrollDue(c.db, c.config, now),
    run: (c) => runScheduledKontroll(c.db, c.config),
  },
  // Every minute: the overview's tile counters, which each database connection adds to apart
  // (src/cases/tile-counts.ts), folded back into one row per counter so reading them stays cheap.
  {
    name: 'fold-tile-counts',
    cron: '* * * * *',
    // says nothing: a line a minute in the log would bury the others
    run: async (c) => {
      await foldTileCounts(c.db);
      return undefined;
    },
  },
  // Every minute: the reports' monthly time counts, folded the same way (src/reports/facts.ts).
  {
    name: 'fold-report-times',
    cron: '* * * * *',
    run: async (c) => {
      await foldReportTimes(c.db);
      return undefined;
    },
  },
  // Every minute: service-level deadlines at their warning point or breached get their bells and
  // e-mails (src/service-levels/escalation.ts); the lock keeps instances from racing, and the
  // sla_alerts keys keep anyone from hearing of one deadline twice even if they did. Logs only
  // when it notified someone.
  {
    name: 'sla-escalation',
    cron: '* * * * *',
    run: async (c) => describeEscalation(await runSlaEscalation(c.db, c.config)),
  },
  // Every 5 seconds: the webhook deliveries that are due (src/webhooks/deliver.ts); claims with
  // SKIP LOCKED, so instances share them. Logs only when it sent something.
  { name: 'deliver-webhooks', cron: '*/5 * * * * *', run: (c) => deliverDueWebhooks(c.db, c.config) },
  // Nightly: delivered and failed webhook deliveries past the log's 30 days; the API's rate-limit
  // windows long over.
  { name: 'purge-webhook-log', cron: '27 3 * * *', run: (c) => purgeOldDeliveries(c.db) },
  { name: 'purge-rate-limits', cron: '37 * * * *', run: (c) => purgeOldRateLimits(c.db) },
  // Nightly: the create forms' one-time keys, once nobody can still be pressing the button.
  { name: 'forget-form-keys', cron: '17 3 * * *', run: (c) => forgetOldFormKeys(c.db) },
  // Every hour: login attempts older than keepLoginAttemptsHours, long past the throttle's window.
  {
    name: 'purge-login-attempts',
    cron: '17 * * * *',
    run: async (c) => {
      const purged = await purgeOldLoginAttempts(c.db);
      return purged ? `${purged} login attempts older than ${keepLoginAttemptsHours} hours deleted` : undefined;
    },
  },
  // Every hour: sessions past their expiry, which no request can use any more.
  {
    name: 'purge-expired-sessions',
    cron: '47 * * * *',
    run: async (c) => {
      const purged = await purgeExpiredSessions(c.db);
      return purged ? `${purged} expired sessions deleted` : undefined;
    },
  },
];

export type Schedule = { stop: () => Promise<void> };

export function startSchedule(ctx: JobContext, entries: Job[] = jobs): Schedule {
  const running = new Set<Promise<unknown>>();
  const logger = {
    info: () => {},
    debug: () => {},
    warn: (message: string) => ctx.log(`schedule: ${message}`),
    error: (message: string | Error) => ctx.log(`schedule: ${message instanceof Error ? message.message : message}`),
  };
  const tasks: ScheduledTask[] = entries.map((job) =>
    cron.schedule(
      job.cron,
      () => {
        const run = runJob(ctx, job).finally(() => running.delete(run));
        running.add(run);
        return run;
      },
      // noOverlap: a tick while the previous run here is still going is skipped (the advisory
      // lock in runJob does the same across instances).
      { name: job.name, timezone: ctx.config.timeZone, noOverlap: true, logger, unref: true },
    ),
  );
  return {
    stop: async () => {
      await Promise.all(tasks.map((task) => task.destroy()));
      // A run under way finishes (its messages stored and marked) before the database closes.
      await Promise.all(running);
    },
  };
}
