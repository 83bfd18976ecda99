import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import type { Language, OutboxTable } from '../../db/schema.ts';
import { loadSecret } from '../../db/secrets.ts';
import { catalogues, formatters, translator } from '../../i18n/i18n.ts';
import { escapeHtml } from '../../rich-text/escape.ts';
import { composeMail, subjectWithTag } from './compose.ts';
import { createMessageId } from './message-id.ts';
import {
  enqueueMessage,
  type MailToCompose,
  type SystemMailParam,
  type SystemMailText,
  type SystemMailToWrite,
} from './outbox.ts';
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

function paramText(param: SystemMailParam, language: Language, timeZone: string): string {
  if (typeof param === 'string') return param;
  if ('key' in param) return translator(language)(param.key);
  return formatters(language, timeZone).dateTimeInText(param.dateTime);
}

// A text of a system mail in `language`. Only the parameters the text names are written (a date
// costs an Intl call, and most texts name few of those they are given).
export function writeSystemMailText(text: SystemMailText, language: Language, timeZone: string): string {
  const params: Record<string, string> = {};
  for (const [name, param] of Object.entries(paramsNamedBy(text.key, language, text.params ?? {})))
    params[name] = paramText(param, language, timeZone);
  return translator(language)(text.key, params);
}

// The parameters of `params` that the text of `key` names in `language`: what a system mail to
// write needs to carry.
export function paramsNamedBy(
  key: string,
  language: Language,
  params: Record<string, SystemMailParam>,
): Record<string, SystemMailParam> {
  const names = paramNamesIn(key, language);
  if (!names) return params;
  const named: Record<string, SystemMailParam> = {};
  for (const name of names) {
    const param = params[name];
    if (param !== undefined) named[name] = param;
  }
  return named;
}

// The {names} in the text of `key`, or null for a plural text (ICU), which may use any. Read once
// per text and language: a job may ask for every one of 200,000 mails.
const paramNames = new Map<Language, Map<string, string[] | null>>();
function paramNamesIn(key: string, language: Language): string[] | null {
  let ofLanguage = paramNames.get(language);
  if (!ofLanguage) {
    ofLanguage = new Map();
    paramNames.set(language, ofLanguage);
  }
  let names = ofLanguage.get(key);
  if (names === undefined) {
    const catalogue: Record<string, string> = catalogues[language];
    const template = catalogue[key] ?? key;
    names = template.includes(', plural,')
      ? null
      : [...new Set(Array.from(template.matchAll(/\{(\w+)\}/g), (m) => m[1] as string))];
    ofLanguage.set(key, names);
  }
  return names;
}

// A system mail queued as what to write, written in its recipient's language: what composeMail
// needs besides the settings and the Message-ID. The texts are the same as queueSystemMail's.
export function writeSystemMail(
  spec: SystemMailToWrite,
  row: { envelope_to: string[]; subject: string },
  timeZone: string,
): MailToCompose {
  const paragraphs = spec.paragraphs.map((p) => ({
    text: writeSystemMailText(p, spec.language, timeZone),
    href: p.href,
    small: p.small,
  }));
  return {
    to: row.envelope_to,
    subject: row.subject,
    bodyHtml: systemMailHtml(paragraphs),
    inReplyTo: null,
    references: [],
    caseNumber: spec.caseNumber,
    autoSubmitted: true,
  };
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
