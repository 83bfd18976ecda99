import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Language, OutboxTable } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { translator } from '../../i18n/i18n.ts';
import { escapeHtml } from '../../rich-text/escape.ts';
import { composeMail, subjectWithTag } from './compose.ts';
import { createMessageId } from './message-id.ts';
import { enqueueMessage } from './outbox.ts';
import { loadMailSettings } from './settings.ts';

// A paragraph of a mail the system writes itself, optionally ending in a full link.
export type SystemMailParagraph = { text: string; href?: string; small?: boolean };

export function systemMailHtml(paragraphs: SystemMailParagraph[]): string {
  return paragraphs
    .map((p) => {
      const link = p.href ? ` <a href="${escapeHtml(p.href)}">${escapeHtml(p.href)}</a>` : '';
      const style = p.small ? ' style="color: #5b6573; font-size: 12px;"' : '';
      return `<p${style}>${escapeHtml(p.text)}${link}</p>`;
    })
    .join('\n');
}

// A full link for a mail: PUBLIC_URL (which may carry a path) followed by the app's own path.
export function absoluteUrl(config: Config, path: string): string {
  return config.publicUrl.replace(/\/+$/, '') + path;
}

// Mail the system writes (notifications, test messages): plain paragraphs, marked
// Auto-Submitted so autoresponders stay quiet, with a fresh signed Message-ID, put in the outbox.
// Runs in the caller's transaction when given one, so the mail exists only if its cause does.
export async function queueSystemMail(
  db: Db,
  config: Config,
  input: {
    kind: Exclude<OutboxTable['kind'], 'reply'>;
    to: string;
    subject: string;
    paragraphs: SystemMailParagraph[];
    // with a case, the subject carries its tag
    kase?: { id: number; number: string } | null;
    actorId: number | null;
  },
): Promise<string> {
  const [settings, secret] = await Promise.all([loadMailSettings(db, config), loadSecret(db, 'message-id')]);
  const messageId = createMessageId(settings.messageIdDomain, secret);
  const subject = input.kase ? subjectWithTag(settings.subjectTag, input.kase.number, input.subject) : input.subject;
  const raw = await composeMail({
    settings,
    messageId,
    to: [input.to],
    subject,
    bodyHtml: systemMailHtml(input.paragraphs),
    autoSubmitted: true,
    caseNumber: input.kase?.number,
  });
  return enqueueMessage(db, {
    kind: input.kind,
    case_id: input.kase?.id ?? null,
    thread_entry_id: null,
    message_id: messageId,
    envelope_from: settings.fromAddress,
    envelope_to: [input.to],
    subject,
    raw,
    status: 'queued',
    created_by: input.actorId,
  });
}

// The administrator's "Send test e-mail": a short message through the same outbox as all mail.
export async function queueTestMail(
  db: Db,
  config: Config,
  input: { to: string; actor: { id: number; name: string }; language: Language },
): Promise<string> {
  const t = translator(input.language);
  return queueSystemMail(db, config, {
    kind: 'test',
    to: input.to,
    subject: t('mailadmin.test_subject'),
    paragraphs: [
      { text: t('mailadmin.test_body', { name: input.actor.name }) },
      { text: t('mailadmin.test_sent_from'), href: absoluteUrl(config, '/') },
    ],
    actorId: input.actor.id,
  });
}
