import { caseTitleFromSubject } from './inbound/reply-rules.ts';

// Making a formatter costs about as much as storing the mail it names (0.3 ms); one per time zone.
const stampFormats = new Map<string, Intl.DateTimeFormat>();
function stampFormat(timeZone: string): Intl.DateTimeFormat {
  let format = stampFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' });
    stampFormats.set(timeZone, format);
  }
  return format;
}

// The file name of a mail filed in a case's E-mail IN or OUT folder: the mail's time where the
// team works and its subject without reply prefixes or the case tag ("2026-12-03 09.15 Skrivaren
// fastnar.eml"), so a case's correspondence reads as one list, in and out alike.
export function mailCopyName(when: Date, subject: string, opts: { timeZone: string; subjectTag: string }): string {
  const stamp = stampFormat(opts.timeZone).format(when).replace(':', '.');
  const title = caseTitleFromSubject(subject, opts.subjectTag).replace(/[/\\]/g, '-').slice(0, 100);
  return `${stamp} ${title}.eml`;
}
