import type { FastifyInstance } from 'fastify';
import { parseForm, typedValues } from '../forms/form.ts';
import { redirectAfterPost } from '../web/render.ts';
import { caseSettingsSchema, loadCaseSettings, saveCaseSettings } from './case-settings.ts';

// Basic settings → Case management: how mail to closed cases and Read mail behave, and how long
// Send now waits for Undo.
export async function registerSettingsRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.get('/settings', async (_request, reply) => {
    const row = await loadCaseSettings(db);
    const values = {
      reopen_closed_within_days: String(row.reopen_closed_within_days),
      read_mail_every_minutes: String(row.read_mail_every_minutes),
      max_inbound_mb: String(row.max_inbound_mb),
      undo_send_seconds: String(row.undo_send_seconds),
      loop_limit_per_hour: String(row.loop_limit_per_hour),
    };
    return reply.view('admin/settings', { values, errors: {} });
  });

  app.post('/settings', async (request, reply) => {
    const form = parseForm(caseSettingsSchema, request.body);
    if (!form.ok)
      return reply.code(422).view('admin/settings', { values: typedValues(request.body), errors: form.errors });
    await saveCaseSettings(db, form.data);
    return redirectAfterPost(request, reply, '/admin/settings', request.t('common.saved'));
  });
}
