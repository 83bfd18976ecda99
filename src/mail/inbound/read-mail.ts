import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { type ReadReport, readAllMailboxes } from './fetch.ts';

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
