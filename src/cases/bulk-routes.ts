import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FormError, manyOf, optionalMultiLine, parseForm } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost, render } from '../web/render.ts';
import { type BulkSkipReason, type BulkSummary, bulkActions, bulkChangeCases, bulkLimit } from './bulk.ts';
import { findCaseRef, loadCaseFormOptions } from './queries.ts';
import { findStatusOfKind } from './statuses.ts';

// A picked row as the overview sends it: the case's id and the version the row showed.
const pickedCase = /^\d{1,9}:\d{1,9}$/;
const optionalValue = z.string().max(20, 'errors.invalid').optional();
const bulkSchema = z.object({
  // one field per ticked row: a list by design (checked below, so its errors say what is wrong)
  case: manyOf(z.string()),
  action: z.enum(bulkActions, 'errors.invalid'),
  status_id: optionalValue,
  priority_id: optionalValue,
  case_type_id: optionalValue,
  responsible_id: optionalValue,
  // merge: the number of the case the picked ones are merged into
  merge_into: z.string().max(40, 'errors.invalid').optional(),
  message: optionalMultiLine(20_000),
  // the overview the form was sent from, to go back to
  back: z.string().max(2_000).optional(),
});

const reasonOrder: BulkSkipReason[] = [
  'stale',
  'not_merged',
  'unchanged',
  'closed',
  'no_address',
  'no_customer',
  'invalid',
];

// "12 changed, 1 skipped: changed by someone else (2026-00012)."
function summaryText(request: FastifyRequest, summary: BulkSummary): string {
  const parts = [request.t('bulk.summary', { changed: summary.changed.length, skipped: summary.skipped.length })];
  for (const reason of reasonOrder) {
    const numbers = summary.skipped.filter((s) => s.reason === reason).map((s) => s.number);
    if (!numbers.length) continue;
    const shown = numbers.length > 10 ? `${numbers.slice(0, 10).join(', ')} …` : numbers.join(', ');
    parts.push(`${request.t(`bulk.reason.${reason}`)} (${shown})`);
  }
  return parts.join(' · ');
}

// Bulk actions on the overview (src/cases/bulk.ts). public/bulk.js gives the rows their
// checkboxes and fetches the bar below when the first is ticked; the bar is a plain form.
export async function registerBulkRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  app.get('/cases/bulk-changes', async (request, reply) => {
    const options = await loadCaseFormOptions(db, null);
    reply.header('Cache-Control', 'no-store');
    return render(request, reply, { page: 'cases/bulk/bar', fragment: 'cases/bulk/_bar' }, { options });
  });

  // What the action sets: the field's value as picked, the closed status to close with, or the
  // case (by its number) the others are merged into.
  const actionValue = async (data: z.output<typeof bulkSchema>): Promise<string> => {
    if (data.action === 'close') {
      const closing = await findStatusOfKind(db, 'closed');
      if (!closing) throw new FormError({ action: 'bulk.no_closed_status' });
      return String(closing);
    }
    if (data.action === 'merge') {
      const target = data.merge_into ? await findCaseRef(db, data.merge_into.trim()) : undefined;
      if (!target) throw new FormError({ merge_into: 'bulk.no_merge_target' });
      return String(target.id);
    }
    return (data[data.action] ?? '').trim();
  };

  app.post('/cases/bulk-changes', async (request, reply) => {
    const form = parseForm(bulkSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    const { action, message } = form.data;
    const value = await actionValue(form.data);
    if (!form.data.case.length) throw new FormError({ case: 'bulk.none' });
    if (form.data.case.length > bulkLimit) throw new FormError({ case: 'bulk.too_many' });
    if (!form.data.case.every((picked) => pickedCase.test(picked))) throw new FormError({ case: 'errors.invalid' });
    const cases = form.data.case.map((picked) => {
      const [id, version] = picked.split(':').map(Number);
      return { id: id as number, version: version as number };
    });
    const summary = await bulkChangeCases(
      db,
      { cases, action, value, message: action === 'close' ? message : '' },
      currentUser(request),
      { config, formKey: formKeyOf(request.body) },
    );
    if (summary.changed.length) app.deps.mailSender?.kick();
    const back = form.data.back?.startsWith('/cases') ? form.data.back : '/cases';
    return redirectAfterPost(request, reply, back, summaryText(request, summary));
  });
}
