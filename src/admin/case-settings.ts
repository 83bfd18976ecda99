import { z } from 'zod';
import type { Db } from '../db/database.ts';

export const caseSettingsSchema = z.object({
  reopen_closed_within_days: z.coerce
    .number('errors.number')
    .int('errors.number')
    .min(0, 'errors.number')
    .max(3650, 'errors.too_long'),
  read_mail_every_minutes: z.coerce
    .number('errors.number')
    .int('errors.number')
    .min(1, 'errors.positive')
    .max(1440, 'errors.too_long'),
  max_inbound_mb: z.coerce
    .number('errors.number')
    .int('errors.number')
    .min(1, 'errors.positive')
    .max(200, 'errors.too_long'),
  // past this many mails an hour from one sender on one case, further ones are possible loops
  loop_limit_per_hour: z.coerce
    .number('errors.number')
    .int('errors.number')
    .min(1, 'errors.positive')
    .max(1000, 'errors.too_long'),
  // "Send now" holds the mail this long for Undo; 0: no hold
  undo_send_seconds: z.coerce
    .number('errors.number')
    .int('errors.number')
    .min(0, 'errors.number')
    .max(120, 'errors.too_long'),
});
export type CaseSettingsInput = z.output<typeof caseSettingsSchema>;

export async function loadCaseSettings(db: Db) {
  return db.selectFrom('case_settings').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
}

export async function saveCaseSettings(db: Db, input: CaseSettingsInput): Promise<void> {
  await db
    .updateTable('case_settings')
    .set({ ...input, updated_at: new Date() })
    .where('id', '=', 1)
    .execute();
}
