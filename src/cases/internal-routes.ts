import type { FastifyInstance } from 'fastify';
import { loadCase, renderCasePage } from '../case-page/page.ts';
import { parseForm, typedValues } from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { formKeyOf } from '../web/form-key.ts';
import { redirectAfterPost } from '../web/render.ts';
import { internalNoteSchema, StaleNoteError, saveInternalNote } from './internal-note.ts';

export async function registerInternalNoteRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.post<{ Params: { number: string }; Body: Record<string, string | undefined> }>(
    '/cases/:number/internal',
    async (request, reply) => {
      const kase = await loadCase(request);
      const typed = typedValues(request.body).internal_note ?? '';
      const formKey = formKeyOf(request.body);
      const form = parseForm(internalNoteSchema, request.body);
      if (!form.ok) {
        return renderCasePage(request, reply, kase, 'internal', {
          tabData: { note: { text: typed, version: kase.internal_note_version }, noteErrors: form.errors },
          status: 422,
        });
      }
      try {
        await saveInternalNote(
          db,
          kase.id,
          form.data.internal_note_version,
          form.data.internal_note,
          currentUser(request),
          { formKey },
        );
        return redirectAfterPost(request, reply, `/cases/${kase.number}/internal`, request.t('common.saved'));
      } catch (error) {
        if (!(error instanceof StaleNoteError)) throw error;
        // Keep what this user typed, show what the other person saved, and let them merge.
        return renderCasePage(request, reply, kase, 'internal', {
          tabData: {
            note: { text: typed, version: error.currentVersion },
            noteConflict: error.currentText,
            noteErrors: {},
          },
          status: 409,
        });
      }
    },
  );
}
