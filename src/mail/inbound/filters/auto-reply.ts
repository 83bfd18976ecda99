import type { ParsedInbound } from '../parse.ts';
import type { InboundFilter } from './types.ts';

// RFC 3834 and the vendors' own ways of saying "a machine wrote this".
const automaticPrecedence = new Set(['bulk', 'junk', 'list', 'auto_reply']);

// Subjects of out-of-office and other automatic answers (Outlook, Gmail, Exchange, Notes), in
// Swedish, English, German, French, Italian and Spanish. A subject alone decides only when it
// starts with one of these, after any "Re:"/"AW:".
const automaticSubjects =
  /^(?:(?:re|aw|sv|vs|fw|fwd|wg|tr|rv)\s*:\s*)*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|autosvar|automatiskt svar|frånvaro\s*:|frånvarande\s*:|abwesenheitsnotiz|abwesend\s*:|automatische antwort|réponse automatique|absence\s*:|risposta automatica|respuesta automática|fuera de la oficina|vacation reply|on vacation\s*:|away from (?:the )?office)/i;

// Reports that are not delivery failures: abuse feedback (ARF) and read receipts (MDN).
const automaticReports = new Set(['feedback-report', 'disposition-notification']);

export function isAutomaticReply(mail: ParsedInbound): boolean {
  const h = mail.headers;
  const autoSubmitted = h.autoSubmitted?.split(/[;(\s]/)[0];
  if (autoSubmitted && autoSubmitted !== 'no') return true;
  if (h.xAutoreply !== null || h.xAutorespond !== null) return true;
  if (h.xAutoResponseSuppress && /\b(oof|all)\b/.test(h.xAutoResponseSuppress)) return true;
  if (h.precedence && automaticPrecedence.has(h.precedence)) return true;
  if (h.reportType && automaticReports.has(h.reportType)) return true;
  return automaticSubjects.test(mail.subject.trim());
}

// Marks the mail automatic and lets case matching go on: an out-of-office that answers a known
// case joins its thread (never reopening or notifying); anything else is only kept.
export const autoReplyFilter: InboundFilter = {
  name: 'auto-reply',
  run: (mail, verdict) => (isAutomaticReply(mail) ? { ...verdict, kind: 'auto_reply' } : verdict),
};
