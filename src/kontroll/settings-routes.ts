import type { FastifyInstance } from 'fastify';
import { parseForm, typedList, typedValues } from '../forms/form.ts';
import { redirectAfterPost } from '../web/render.ts';
import { kontrollPlaceholders } from './rules.ts';
import { kontrollFormValues, kontrollSettingsSchema, loadKontrollSettings, saveKontrollSettings } from './settings.ts';

// Basic settings → Case management → Automatic e-mails (K1), under /admin (administrators only).
export async function registerKontrollSettingsRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  const options = async () => {
    const [statuses, types] = await Promise.all([
      db.selectFrom('case_statuses').select(['id', 'name']).where('kind', '=', 'closed').orderBy('position').execute(),
      db.selectFrom('case_types').select(['id', 'name', 'active']).orderBy('position').execute(),
    ]);
    return { statuses, types, placeholders: kontrollPlaceholders.map((p) => `{${p}}`).join(' ') };
  };

  app.get('/settings/kontroll', async (_request, reply) => {
    const opts = await options();
    const values = kontrollFormValues(
      await loadKontrollSettings(db),
      opts.types.filter((t) => t.active).map((t) => t.id),
    );
    return reply.view('admin/kontroll-settings', { values, errors: {}, ...opts });
  });

  app.post<{ Body: Record<string, string | string[] | undefined> }>('/settings/kontroll', async (request, reply) => {
    const form = parseForm(kontrollSettingsSchema, request.body);
    const errors = form.ok ? await saveKontrollSettings(db, form.data) : form.errors;
    if (Object.keys(errors).length) {
      const values = { ...typedValues(request.body), case_type_ids: typedList(request.body, 'case_type_ids') };
      return reply.code(422).view('admin/kontroll-settings', { values, errors, ...(await options()) });
    }
    return redirectAfterPost(request, reply, '/admin/settings/kontroll', request.t('common.saved'));
  });
}
