import { type Selectable, sql } from 'kysely';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { MailReadMailbox, MailReadState, MailReadsTable } from '../../db/schema.ts';
import { type ReadOptions, type ReadReport, readAllMailboxes, readMailbox } from './fetch.ts';
import { listMailboxes } from './mailboxes.ts';

// How often the schedule reads mail (Administration → settings), in minutes.
export async function readMailEveryMinutes(db: Db): Promise<number> {
  const row = await db
    .selectFrom('case_settings')
    .select('read_mail_every_minutes')
    .where('id', '=', 1)
    .executeTakeFirst();
  return row?.read_mail_every_minutes ?? 1;
}

// One line for the log: what each mailbox gave, leaving out the ones where nothing happened.
export function describeReadReports(reports: ReadReport[]): string | undefined {
  const parts = reports.flatMap((r) => {
    if (r.busy) return [];
    if (r.error) return [`${r.mailbox.name}: error: ${r.error}`];
    const counts = (['created', 'appended', 'ignored', 'failed', 'duplicates'] as const)
      .filter((key) => r[key] > 0)
      .map((key) => `${r[key]} ${key}`);
    return counts.length ? [`${r.mailbox.name}: ${counts.join(', ')}`] : [];
  });
  return parts.length ? parts.join('; ') : undefined;
}

// The scheduled Read mail: every active mailbox, then a line saying what came in.
export async function readMailOnSchedule(db: Db, config: Config): Promise<string | undefined> {
  return describeReadReports(await readAllMailboxes(db, config));
}

// "Read mail" on demand (issue 15, item 11). A broken mailbox may take its server's whole timeout
// to fail, so the request only starts the read and a page shows its progress. The state lives in
// mail_reads, so the page works on any instance and a second click, from anyone, anywhere, joins
// the running read instead of starting another (the table's unique index on the running row).

// How often a running read touches heartbeat_at, and how long without a touch makes it dead
// (its process ended mid-read): the next Read mail then sets it 'abandoned' and starts afresh.
const heartbeatMs = 5_000;
const abandonedAfterMs = 60_000;

export type MailRead = Selectable<MailReadsTable>;

export type StartedMailRead = {
  id: string;
  // false: a read was already running, and this is it
  started: boolean;
  // the read itself, running on after the request that started it; resolves when it ends (never
  // rejects: a failure is kept in the row). Null when this call joined a running read.
  running: Promise<void> | null;
};

export async function startMailRead(
  db: Db,
  config: Config,
  actor: { id: number } | null,
  opts: ReadOptions = {},
): Promise<StartedMailRead> {
  await db
    .updateTable('mail_reads')
    .set({ state: 'abandoned', finished_at: new Date() })
    .where('state', '=', 'running')
    .where('heartbeat_at', '<', new Date(Date.now() - abandonedAfterMs))
    .execute();
  const mailboxes: MailReadMailbox[] = (await listMailboxes(db)).map((m) => ({
    mailbox: { id: m.id, name: m.name },
    state: 'waiting',
    report: null,
  }));
  const inserted = await db
    .insertInto('mail_reads')
    .values({ started_by: actor?.id ?? null, mailboxes: JSON.stringify(mailboxes) })
    .onConflict((oc) => oc.expression(sql`(true)`).where('state', '=', 'running').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const running = await findRunningMailRead(db);
    // it ended between the insert and this look: start again, there is nothing to join
    if (!running) return startMailRead(db, config, actor, opts);
    return { id: running.id, started: false, running: null };
  }
  return { id: inserted.id, started: true, running: runMailRead(db, config, inserted.id, mailboxes, opts) };
}

// A running read whose process stopped beating is shown as what it is, abandoned, though only
// the next Read mail writes that down (pages that show a read write nothing).
const asSeen = (read: MailRead | undefined): MailRead | undefined =>
  read?.state === 'running' && read.heartbeat_at.getTime() < Date.now() - abandonedAfterMs
    ? { ...read, state: 'abandoned' }
    : read;

export async function findMailRead(db: Db, id: string): Promise<MailRead | undefined> {
  return asSeen(await db.selectFrom('mail_reads').selectAll().where('id', '=', id).executeTakeFirst());
}

export async function findRunningMailRead(db: Db): Promise<MailRead | undefined> {
  const read = asSeen(await db.selectFrom('mail_reads').selectAll().where('state', '=', 'running').executeTakeFirst());
  return read?.state === 'running' ? read : undefined;
}

// Reads the mailboxes one after the other, as the schedule does, writing each one's state and
// report as it goes; a failing mailbox does not stop the rest.
async function runMailRead(
  db: Db,
  config: Config,
  id: string,
  mailboxes: MailReadMailbox[],
  opts: ReadOptions,
): Promise<void> {
  const save = (set: { state?: MailReadState; error?: string; finished_at?: Date } = {}) =>
    db
      .updateTable('mail_reads')
      .set({ ...set, mailboxes: JSON.stringify(mailboxes), heartbeat_at: new Date() })
      .where('id', '=', id)
      .execute();
  const heartbeat = setInterval(() => {
    db.updateTable('mail_reads')
      .set({ heartbeat_at: new Date() })
      .where('id', '=', id)
      .execute()
      .catch(() => {
        // the next beat, or the end of the run, tries again
      });
  }, heartbeatMs);
  heartbeat.unref();
  try {
    for (const entry of mailboxes) {
      entry.state = 'reading';
      await save();
      let report: ReadReport;
      try {
        report = await readMailbox(db, config, entry.mailbox.id, opts);
      } catch (error) {
        // e.g. the mailbox was deleted meanwhile
        report = { mailbox: entry.mailbox, created: 0, appended: 0, ignored: 0, failed: 0, duplicates: 0 };
        report.error = error instanceof Error ? error.message : String(error);
      }
      const { mailbox: _mailbox, ...counts } = report;
      entry.state = 'done';
      entry.report = counts;
    }
    await save({ state: 'done', finished_at: new Date() });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    await save({ state: 'done', error: text.slice(0, 2000), finished_at: new Date() }).catch(() => {
      // the database is gone; the heartbeat stops with us, so the next Read mail abandons this row
    });
  } finally {
    clearInterval(heartbeat);
  }
}
