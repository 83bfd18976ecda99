import type { Db } from '../../../db/database.ts';
import { withoutNul } from '../../../db/text.ts';
import { isOurMessageId } from '../../outbound/message-id.ts';
import { cleanMessageId, type ParsedInbound } from '../parse.ts';
import type { BounceReport, CaseMatch, InboundFilter } from './types.ts';

// Who sends delivery reports. Sisimai's and Zammad's sets agree on these local parts.
const bounceSenders = /^(mailer-daemon|postmaster|mail-daemon|mail\.delivery\.system|mailerdaemon|mdaemon)$/i;

// Subjects of non-DSN delivery reports (exim, qmail, Gmail's and Exchange's plain ones), in the
// languages our customers' servers answer in. Only believed together with a bounce sender.
const bounceSubjects =
  /(undeliver|undelivered mail|returned mail|delivery status notification|mail delivery (failed|failure|subsystem)|delivery (failure|has failed|failed|notification)|failure notice|could not be delivered|non remis|non recapitabile|unzustellbar|nicht zustellbar|onbestelbaar|olevererbar|kan inte levereras|kunde inte levereras|ej levererat|delayed mail|message delayed|warning: could not send|mail system error|returned to sender)/i;

// Parts that carry the returned message or its headers.
const returnedParts = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers']);

function localPart(address: string | undefined): string {
  return (address ?? '').split('@')[0] ?? '';
}

export function isBounce(mail: ParsedInbound): boolean {
  if (mail.headers.reportType === 'delivery-status') return true;
  if (mail.attachments.some((a) => a.contentType === 'message/delivery-status')) return true;
  const fromDaemon = bounceSenders.test(localPart(mail.from?.address)) || mail.from === null;
  const nullReturnPath = mail.headers.returnPath !== null && /^<?\s*>?$/.test(mail.headers.returnPath);
  // X-Failed-Recipients from a daemon is a failure report whatever its subject says (exim's can
  // be reworded or translated); it also carries Auto-Submitted, which must not make it an
  // ordinary automatic answer
  if (mail.headers.xFailedRecipients && (fromDaemon || nullReturnPath)) return true;
  return (fromDaemon || nullReturnPath) && bounceSubjects.test(mail.subject);
}

// Text read from a part's bytes is looked up and stored, so it loses its NULs (db/text.ts).
function headerBlock(content: Buffer): string {
  const text = withoutNul(content.subarray(0, 64 * 1024).toString('utf8'));
  const end = text.search(/\r?\n\r?\n/);
  return (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, ' ');
}

const messageIdLine = /^[ \t>]*message-id:\s*(<[^<>\s]+>)/gim;

// The Message-IDs of the mail that bounced: from the returned message or headers part first,
// else from a copy quoted in the report's text (exim, qmail and friends have no such part).
export function returnedMessageIds(mail: ParsedInbound): string[] {
  const found: string[] = [];
  for (const part of mail.attachments.filter((a) => returnedParts.has(a.contentType))) {
    for (const m of headerBlock(part.content).matchAll(messageIdLine)) found.push(m[1] as string);
  }
  if (!found.length) for (const m of mail.text.matchAll(messageIdLine)) found.push(m[1] as string);
  const ids = found.flatMap((id) => cleanMessageId(id) ?? []);
  return [...new Set(ids)].filter((id) => id !== mail.messageId);
}

// The case number our outgoing mail carried in X-Casedesk-Case, if the report returned it.
function returnedCaseNumber(mail: ParsedInbound): string | null {
  const sources = [
    ...mail.attachments.filter((a) => returnedParts.has(a.contentType)).map((a) => headerBlock(a.content)),
    mail.text,
  ];
  for (const text of sources) {
    const match = /^[ \t>]*x-casedesk-case:\s*(\S+)/im.exec(text);
    if (match?.[1]) return match[1];
  }
  return null;
}

// The machine-readable report (message/delivery-status) and the human text around it.
function reportText(mail: ParsedInbound): string {
  const status = mail.attachments
    .filter((a) => a.contentType === 'message/delivery-status')
    .map((a) => withoutNul(a.content.toString('utf8')));
  return [...status, mail.text].join('\n');
}

// The reason a person can act on: the remote server's words, else the DSN status, else the subject.
export function bounceReason(mail: ParsedInbound): string {
  const text = reportText(mail);
  const diagnostic = /^diagnostic-code:\s*(?:[\w-]+;\s*)?(.+(?:\r?\n[ \t]+.+)*)/im.exec(text)?.[1];
  const status = /^status:\s*(\d\.\d{1,3}\.\d{1,3})/im.exec(text)?.[1];
  const recipient =
    /^final-recipient:\s*(?:[\w-]+;\s*)?(\S+)/im.exec(text)?.[1] ?? mail.headers.xFailedRecipients?.split(/[,\s]+/)[0];
  // exim's report without a DSN part: the remote server's answer on the lines after this one
  const eximAnswer = /SMTP error from remote mail server after [^\n]*:[ \t]*\r?\n[ \t]+(\S.*)/i.exec(text)?.[1];
  const reason =
    (diagnostic ?? eximAnswer)?.replace(/\s+/g, ' ').trim() || (status ? `Status ${status}` : mail.subject);
  return (recipient ? `${recipient}: ${reason}` : reason).slice(0, 500);
}

// Every recipient's Action is "delayed": the sending server still tries, nothing failed yet.
export function isDelayNotice(mail: ParsedInbound): boolean {
  const actions = [...reportText(mail).matchAll(/^action:\s*([\w-]+)/gim)].map((m) => (m[1] as string).toLowerCase());
  if (actions.length) return actions.every((a) => a === 'delayed');
  return /\b(delay(ed)?|still being retried|verzögert|försenad)\b/i.test(mail.subject);
}

export function readBounce(mail: ParsedInbound, secret: string): BounceReport {
  const ids = returnedMessageIds(mail);
  return {
    originalMessageId: ids.find((id) => isOurMessageId(id, secret)) ?? ids[0] ?? null,
    reason: bounceReason(mail),
    delayed: isDelayNotice(mail),
  };
}

// The case whose mail bounced: by the returned Message-ID (ours, so it must verify), then by the
// X-Casedesk-Case header our mail carried.
async function findBouncedCase(
  db: Db,
  mail: ParsedInbound,
  report: BounceReport,
  secret: string,
): Promise<CaseMatch | null> {
  const id = report.originalMessageId;
  if (id && isOurMessageId(id, secret)) {
    const row =
      (await db
        .selectFrom('outbox')
        .innerJoin('cases', 'cases.id', 'outbox.case_id')
        .select(['cases.id', 'cases.number'])
        .where('outbox.message_id', '=', id)
        .executeTakeFirst()) ??
      (await db
        .selectFrom('thread_entries')
        .innerJoin('cases', 'cases.id', 'thread_entries.case_id')
        .select(['cases.id', 'cases.number'])
        .where('thread_entries.message_id', '=', id)
        .executeTakeFirst());
    if (row) return { caseId: row.id, number: row.number, by: 'returned_headers' };
  }
  const number = returnedCaseNumber(mail);
  if (!number) return null;
  const kase = await db.selectFrom('cases').select(['id', 'number']).where('number', '=', number).executeTakeFirst();
  return kase ? { caseId: kase.id, number: kase.number, by: 'returned_headers' } : null;
}

export const bounceFilter: InboundFilter = {
  name: 'bounce',
  run: async (mail, verdict, ctx) => {
    if (!isBounce(mail)) return verdict;
    const bounce = readBounce(mail, ctx.messageIdSecret);
    const match = await findBouncedCase(ctx.db, mail, bounce, ctx.messageIdSecret);
    return { ...verdict, kind: 'bounce', decided: true, bounce, match };
  },
};
