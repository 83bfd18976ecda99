import { caseTitleFromSubject } from './inbound/reply-rules.ts';

// The file name of a mail filed in a case's E-mail IN or OUT folder: the mail's time where the
// team works and its subject without reply prefixes or the case tag ("2026-12-03 09.15 Skrivaren
// fastnar.eml"), so a case's correspondence reads as one list, in and out alike.
export function mailCopyName(when: Date, subject: string, opts: { timeZone: string; subjectTag: string }): string {
  const stamp = new Intl.DateTimeFormat('sv-SE', { timeZone: opts.timeZone, dateStyle: 'short', timeStyle: 'short' })
    .format(when)
    .replace(':', '.');
  const title = caseTitleFromSubject(subject, opts.subjectTag).replace(/[/\\]/g, '-').slice(0, 100);
  return `${stamp} ${title}.eml`;
}
