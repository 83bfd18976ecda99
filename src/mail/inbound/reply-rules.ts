import type { StatusKind } from '../../db/schema.ts';

// What a customer's mail does to the case it answers. Pure: the table behind ingest's choice.
//   open, to work order → append: the entry joins the thread, nothing else changes
//   waiting             → resume: the entry joins, the case is open again, the responsible hears
//   closed, recently    → reopen: as resume, for a closed case
//   closed, long ago    → new_linked: a new case that points back at the old one
export type ReplyEffect = 'append' | 'resume' | 'reopen' | 'new_linked';

const dayMs = 24 * 60 * 60 * 1000;

export function decideReplyEffect(input: {
  statusKind: StatusKind;
  closedAt: Date | null;
  now: Date;
  reopenWithinDays: number;
}): ReplyEffect {
  switch (input.statusKind) {
    case 'open':
    case 'work_order':
      return 'append';
    case 'waiting':
      return 'resume';
    case 'closed': {
      const closedAt = input.closedAt ?? input.now;
      return input.now.getTime() - closedAt.getTime() <= input.reopenWithinDays * dayMs ? 'reopen' : 'new_linked';
    }
  }
}

// Prefixes mail programs put before a subject, in the languages we meet: Re, Sv (svar), AW
// (Antwort), Fwd/FW, VB (vidarebefordrat), VS, WG (weitergeleitet), Antw, TR, RV.
const replyPrefix = /^\s*(?:re|sv|aw|fwd?|fw|vb|vs|wg|antw|tr|rv)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*/i;

// The title of a case made from a mail: the subject without reply prefixes or case tags.
export function caseTitleFromSubject(subject: string, tagFormat: string): string {
  const [before = '', after = ''] = tagFormat.split('{number}');
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const tag = before ? new RegExp(`${escapeRegExp(before)}[A-Za-z0-9_./-]{1,40}${escapeRegExp(after)}`, 'g') : null;
  let title = subject.replace(/\s+/g, ' ').trim();
  for (let previous = ''; previous !== title; ) {
    previous = title;
    if (tag) title = title.replace(tag, ' ').replace(/\s+/g, ' ').trim();
    title = title.replace(replyPrefix, '').trim();
  }
  return Array.from(title).slice(0, 200).join('') || '(no subject)';
}
