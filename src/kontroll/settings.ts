import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { checkbox, idField, idListField, multiLine, requiredText, singleLine } from '../forms/form.ts';
import { type KontrollRules, unknownPlaceholders } from './rules.ts';

// Kontroll's settings (K1): the automatic e-mails part of Basic settings → Case management.
export type KontrollSettings = KontrollRules & {
  texts: Record<'remind' | 'close', Record<'sv' | 'en', { subject: string; text: string }>>;
  closeStatusId: number | null;
  runAt: string;
};

export async function loadKontrollSettings(db: Db): Promise<KontrollSettings> {
  const r = await db.selectFrom('case_settings').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  return {
    remind: { enabled: r.kontroll_remind_enabled, days: r.kontroll_remind_days },
    close: { enabled: r.kontroll_close_enabled, days: r.kontroll_close_days },
    caseTypeIds: r.kontroll_case_type_ids,
    closeStatusId: r.kontroll_close_status_id,
    runAt: r.kontroll_run_at,
    texts: {
      remind: {
        sv: { subject: r.kontroll_remind_subject_sv, text: r.kontroll_remind_text_sv },
        en: { subject: r.kontroll_remind_subject_en, text: r.kontroll_remind_text_en },
      },
      close: {
        sv: { subject: r.kontroll_close_subject_sv, text: r.kontroll_close_text_sv },
        en: { subject: r.kontroll_close_subject_en, text: r.kontroll_close_text_en },
      },
    },
  };
}

const days = z.coerce
  .number('errors.number')
  .int('errors.number')
  .min(1, 'errors.positive')
  .max(365, 'errors.too_long');
const subject = (max: number) => requiredText(max);
const text = (max: number) => multiLine().trim().min(1, 'errors.required').max(max, 'errors.too_long');

export const kontrollSettingsSchema = z.object({
  remind_enabled: checkbox,
  remind_days: days,
  remind_subject_sv: subject(200),
  remind_text_sv: text(5000),
  remind_subject_en: subject(200),
  remind_text_en: text(5000),
  close_enabled: checkbox,
  close_days: days,
  close_subject_sv: subject(200),
  close_text_sv: text(5000),
  close_subject_en: subject(200),
  close_text_en: text(5000),
  close_status_id: idField(),
  case_type_ids: idListField,
  run_at: singleLine(),
});
export type KontrollSettingsInput = z.output<typeof kontrollSettingsSchema>;

// Checks the references, then saves. Ticking every active type stores null: "all", including
// types added later. Returns field errors, or an empty object when saved.
const textFields = [
  'remind_subject_sv',
  'remind_text_sv',
  'remind_subject_en',
  'remind_text_en',
  'close_subject_sv',
  'close_text_sv',
  'close_subject_en',
  'close_text_en',
] as const;

// The rules between fields, as message keys: placeholders Kontroll knows, a real time of day,
// and closing after the reminder (a reminder for an already closed case would never go out).
export function checkKontrollSettings(input: KontrollSettingsInput): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const field of textFields) {
    if (unknownPlaceholders(input[field]).length) errors[field] = 'kontroll.error_placeholder';
  }
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(input.run_at)) errors.run_at = 'kontroll.error_time';
  if (input.remind_enabled && input.close_enabled && input.close_days <= input.remind_days) {
    errors.close_days = 'kontroll.error_close_after_remind';
  }
  if (!input.case_type_ids.length) errors.case_type_ids = 'kontroll.error_types_required';
  return errors;
}

export async function saveKontrollSettings(db: Db, input: KontrollSettingsInput): Promise<Record<string, string>> {
  const [status, types] = await Promise.all([
    db
      .selectFrom('case_statuses')
      .select('id')
      .where('id', '=', input.close_status_id)
      .where('kind', '=', 'closed')
      .executeTakeFirst(),
    db.selectFrom('case_types').select(['id', 'active']).execute(),
  ]);
  const errors = checkKontrollSettings(input);
  if (!status) errors.close_status_id = 'errors.invalid';
  if (input.case_type_ids.some((id) => !types.some((t) => t.id === id))) errors.case_type_ids = 'errors.invalid';
  if (Object.keys(errors).length) return errors;
  const allActive = types.filter((t) => t.active).every((t) => input.case_type_ids.includes(t.id));
  await db
    .updateTable('case_settings')
    .set({
      kontroll_remind_enabled: input.remind_enabled,
      kontroll_remind_days: input.remind_days,
      kontroll_remind_subject_sv: input.remind_subject_sv,
      kontroll_remind_text_sv: input.remind_text_sv,
      kontroll_remind_subject_en: input.remind_subject_en,
      kontroll_remind_text_en: input.remind_text_en,
      kontroll_close_enabled: input.close_enabled,
      kontroll_close_days: input.close_days,
      kontroll_close_subject_sv: input.close_subject_sv,
      kontroll_close_text_sv: input.close_text_sv,
      kontroll_close_subject_en: input.close_subject_en,
      kontroll_close_text_en: input.close_text_en,
      kontroll_close_status_id: input.close_status_id,
      kontroll_case_type_ids: allActive ? null : input.case_type_ids,
      kontroll_run_at: input.run_at,
      updated_at: new Date(),
    })
    .where('id', '=', 1)
    .execute();
  return {};
}

// The form's values from the stored settings.
export function kontrollFormValues(s: KontrollSettings, allTypeIds: number[]): Record<string, unknown> {
  return {
    remind_enabled: s.remind.enabled ? 'on' : '',
    remind_days: String(s.remind.days),
    remind_subject_sv: s.texts.remind.sv.subject,
    remind_text_sv: s.texts.remind.sv.text,
    remind_subject_en: s.texts.remind.en.subject,
    remind_text_en: s.texts.remind.en.text,
    close_enabled: s.close.enabled ? 'on' : '',
    close_days: String(s.close.days),
    close_subject_sv: s.texts.close.sv.subject,
    close_text_sv: s.texts.close.sv.text,
    close_subject_en: s.texts.close.en.subject,
    close_text_en: s.texts.close.en.text,
    close_status_id: s.closeStatusId ? String(s.closeStatusId) : '',
    case_type_ids: (s.caseTypeIds ?? allTypeIds).map(String),
    run_at: s.runAt,
  };
}
