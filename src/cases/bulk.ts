import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { oncePerFormKey } from '../db/form-keys.ts';
import type { User } from '../db/schema.ts';
import { FormError } from '../forms/form.ts';
import { plainTextToHtml } from '../rich-text/escape.ts';
import { addStaffReply } from '../threads/threads.ts';
import { type QuickEditField, quickEditCase } from './cases.ts';
import { mergeCases } from './merge.ts';
import { isDocumentApprovalCase } from './queries.ts';

// Bulk actions on the overview (issue 18, part 3): the agent picks rows and one action for all of
// them. Each case goes through what a quick edit does (quickEditCase: the case lifecycle for a
// status, the history rows, the notifications), all in one transaction, and a case that changed
// since the overview showed it is skipped rather than overwritten. A second click of the same
// form gets the first one's summary (its one-time key).

export const bulkActions = ['status_id', 'priority_id', 'case_type_id', 'responsible_id', 'close', 'merge'] as const;
export type BulkAction = (typeof bulkActions)[number];

// As many as a page of the overview shows, and then some: a form with more is no overview's.
export const bulkLimit = 200;

export type BulkSkipReason = 'stale' | 'not_merged' | 'unchanged' | 'closed' | 'no_address' | 'no_customer' | 'invalid';

export type BulkSummary = {
  changed: string[];
  skipped: { number: string; reason: BulkSkipReason }[];
};

export type BulkRequest = {
  // each case as the page showed it: a newer version is someone else's change
  cases: { id: number; version: number }[];
  action: BulkAction;
  // the new value of the field (an id, or '' for none); for close, the closed status to set; for
  // merge, the id of the case the others are merged into
  value: string;
  // close only: a message to each case's customer, sent as a reply before the case is closed
  message: string;
};

export async function bulkChangeCases(
  db: Db,
  request: BulkRequest,
  actor: User,
  opts: { config: Config; formKey: string | null },
): Promise<BulkSummary> {
  const items = [...new Map(request.cases.map((c) => [c.id, c])).values()].sort((a, b) => a.id - b.id);
  return db.transaction().execute((trx) =>
    oncePerFormKey(trx, { key: opts.formKey, userId: actor.id, form: 'bulk-changes', content: request }, async () => {
      if (request.action === 'merge') return bulkMerge(trx, items, Number(request.value), actor);
      const summary: BulkSummary = { changed: [], skipped: [] };
      const field: QuickEditField = request.action === 'close' ? 'status_id' : request.action;
      const messageHtml = request.action === 'close' ? plainTextToHtml(request.message) : '';
      // Locked in id order, so two bulk changes over overlapping cases queue instead of deadlocking.
      const rows = await trx
        .selectFrom('cases')
        .leftJoin('case_types', 'case_types.id', 'cases.case_type_id')
        .select([
          'cases.id',
          'cases.number',
          'cases.version',
          'cases.status_kind',
          'cases.status_id',
          'cases.priority_id',
          'cases.case_type_id',
          'cases.responsible_id',
          'cases.contact_email',
          'case_types.system_key as type_system_key',
          (eb) =>
            eb
              .selectFrom('contacts')
              .select('contacts.email')
              .whereRef('contacts.id', '=', 'cases.contact_id')
              .as('contact_record_email'),
        ])
        .where(
          'cases.id',
          'in',
          items.map((i) => i.id),
        )
        .orderBy('cases.id')
        .forUpdate('cases')
        .execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const item of items) {
        const row = byId.get(item.id);
        // no such case (cases are never deleted: an id the page never showed) is nothing to change
        if (!row) continue;
        const skip = (reason: BulkSkipReason) => summary.skipped.push({ number: row.number, reason });
        if (row.version !== item.version) {
          skip('stale');
          continue;
        }
        if (request.action === 'close' && row.status_kind === 'closed') {
          skip('closed');
          continue;
        }
        if (request.action !== 'close' && String(row[field] ?? '') === request.value) {
          skip('unchanged');
          continue;
        }
        if (messageHtml) {
          if (isDocumentApprovalCase(row)) {
            skip('no_customer');
            continue;
          }
          const to = row.contact_record_email ?? row.contact_email;
          if (!to) {
            skip('no_address');
            continue;
          }
          // the message first: a reply without "set Waiting" leaves the status and the version as
          // they are, so the close below sees the case as the page did
          await addStaffReply(trx, row.id, { body_html: messageHtml, delivery: 'to_send', to: [to] }, actor, {
            config: opts.config,
          });
        }
        try {
          await quickEditCase(trx, row.id, row.version, field, request.value, actor, { config: opts.config });
        } catch (error) {
          // a value this case cannot take (an inactive status, a user no longer active): checked
          // before anything of this case was written
          if (!(error instanceof FormError)) throw error;
          skip('invalid');
          continue;
        }
        summary.changed.push(row.number);
      }
      return summary;
    }),
  );
}

// The picked cases merged into one (src/cases/merge.ts), the target among them or not; a case
// changed since the page showed it is skipped, as for every bulk action.
async function bulkMerge(trx: Db, items: BulkRequest['cases'], targetId: number, actor: User): Promise<BulkSummary> {
  const sources = items.filter((item) => item.id !== targetId);
  const current = await trx
    .selectFrom('cases')
    .select(['id', 'number', 'version'])
    .where(
      'id',
      'in',
      sources.map((s) => s.id),
    )
    .execute();
  const summary: BulkSummary = { changed: [], skipped: [] };
  const fresh = sources.filter((item) => {
    const row = current.find((c) => c.id === item.id);
    if (row && row.version !== item.version) summary.skipped.push({ number: row.number, reason: 'stale' });
    return row?.version === item.version;
  });
  if (!fresh.length) return summary;
  const outcome = await mergeCases(trx, { targetId, sourceIds: fresh.map((s) => s.id) }, actor);
  summary.changed.push(...outcome.merged);
  for (const refused of outcome.refused) summary.skipped.push({ number: refused.number, reason: 'not_merged' });
  return summary;
}
