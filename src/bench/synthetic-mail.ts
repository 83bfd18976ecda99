import MailComposer from 'nodemailer/lib/mail-composer';
import { escapeHtml } from '../rich-text/escape.ts';
import { seededRandom } from '../test-support/random.ts';
import type { BenchCustomer } from './minimal-seed.ts';

// A synthetic mailbox for the mail bench: messages like a support address gets them. New
// questions from customers' contacts (known and new people at customer domains), from free-mail
// and from unknown companies; replies to earlier messages of the set (Re:/SV: subject,
// In-Reply-To and References); replies to existing cases by the case tag in the subject; a tenth
// with a small attachment; half HTML with a text alternative. Deterministic: the same count
// gives the same messages (bar the Message-ID run tag).

export type SyntheticKinds = { new: number; replyByHeader: number; replyByTag: number; withAttachment: number };

const firstNames = ['Anna', 'Björn', 'Cecilia', 'Dag', 'Eva', 'Fredrik', 'Gunilla', 'Håkan', 'Ingrid', 'Jöns'];
const lastNames = ['Andersson', 'Bergström', 'Carlsson', 'Dahl', 'Ek', 'Forsberg', 'Gustafsson', 'Hellström'];
const freeMail = ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.se'];
const topics = [
  'Skrivaren på plan 2 fastnar',
  'Kan inte logga in i kundportalen',
  'Faktura 4711 – fel belopp',
  'Beställning av nya licenser',
  'VPN kopplar ner varje timme',
  'Lösenordet har gått ut',
  'Önskemål: export till Excel',
  'Leveransen har inte kommit',
  'Felmeddelande vid uppstart',
  'Byte av kontaktperson',
];
const bodies = [
  'Hej!\n\nSedan i morse fungerar det inte längre. Vi har startat om datorn men felet kvarstår.\nKan ni hjälpa oss så snart som möjligt?',
  'Hej,\n\nvi behöver hjälp med detta inför månadsskiftet. Det gäller tre användare på ekonomiavdelningen.\nBifogar gärna mer information om det behövs.',
  'Hej igen!\n\nFelet dök upp efter uppdateringen i går kväll. Meddelandet säger "åtkomst nekad" på svenska och engelska.',
  'God morgon,\n\nkan ni återkomma med en tid då ni kan titta på det? Vi sitter i Göteborg och Malmö.',
];
const signatures = ['\n\nMed vänliga hälsningar\n', '\n\nVänligen,\n', '\n\nHälsningar\n'];

export async function syntheticMailbox(opts: {
  count: number;
  customers: BenchCustomer[];
  // existing cases' subject lines with their tag, e.g. "[#2026-00003] Skrivaren fastnar"
  taggedSubjects: string[];
  to: string;
}): Promise<{ raws: Buffer[]; kinds: SyntheticKinds }> {
  const pick = seededRandom(20261127);
  const one = <T>(list: T[]): T => list[Math.floor(pick() * list.length)] as T;
  const runTag = Date.now().toString(36);
  const kinds: SyntheticKinds = { new: 0, replyByHeader: 0, replyByTag: 0, withAttachment: 0 };
  const earlier: { messageId: string; subject: string; from: string; references: string[]; body: string }[] = [];
  const raws: Buffer[] = [];
  const start = Date.UTC(2026, 10, 2, 7, 0, 0);
  for (let i = 0; i < opts.count; i++) {
    const roll = pick();
    const person = `${one(firstNames)} ${one(lastNames)}`;
    const local = person
      .toLowerCase()
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(' ', '.');
    const senderRoll = pick();
    const customer = one(opts.customers);
    const newFrom =
      senderRoll < 0.3
        ? `Kontakt <${customer.contactEmail}>`
        : senderRoll < 0.6
          ? `${person} <${local}@${customer.domain}>`
          : senderRoll < 0.85
            ? `${person} <${local}${Math.floor(pick() * 100)}@${one(freeMail)}>`
            : `${person} <${local}@foretag${Math.floor(pick() * 50)}.example>`;
    const messageId = `<bench-${runTag}-${i}@${newFrom.split('@')[1]?.replace('>', '') ?? 'example.com'}>`;
    let subject: string;
    let from = newFrom;
    let inReplyTo: string | undefined;
    let references: string[] = [];
    let text = `${one(bodies)}${one(signatures)}${person}`;
    if (roll < 0.25 && earlier.length) {
      // one of the latest 200 messages
      const back = Math.floor(pick() * Math.min(earlier.length, 200));
      const parent = earlier[earlier.length - 1 - back] as (typeof earlier)[number];
      subject = /^(Re|SV):/i.test(parent.subject) ? parent.subject : `${one(['Re', 'SV'])}: ${parent.subject}`;
      from = parent.from;
      inReplyTo = parent.messageId;
      references = [...parent.references, parent.messageId].slice(-10);
      text = `Tack, men det fungerar fortfarande inte.${one(signatures)}${person}\n\n> ${parent.body.split('\n').join('\n> ')}`;
      kinds.replyByHeader += 1;
    } else if (roll < 0.4 && opts.taggedSubjects.length) {
      subject = `SV: ${one(opts.taggedSubjects)}`;
      from = `Kontakt <${customer.contactEmail}>`;
      kinds.replyByTag += 1;
    } else {
      subject = `${one(topics)} (${i + 1})`;
      kinds.new += 1;
    }
    const attachments =
      pick() < 0.1
        ? [
            {
              filename: one(['skärmdump.png', 'faktura-4711.pdf', 'logg.txt']),
              content: Buffer.alloc(2_000 + Math.floor(pick() * 18_000), i % 251),
            },
          ]
        : [];
    if (attachments.length) kinds.withAttachment += 1;
    const html =
      pick() < 0.5
        ? `<html><body>${text
            .split('\n\n')
            .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
            .join('')}</body></html>`
        : undefined;
    const composer = new MailComposer({
      from,
      to: opts.to,
      subject,
      messageId,
      inReplyTo,
      references: references.length ? references : undefined,
      date: new Date(start + i * 97_000),
      text,
      html,
      attachments,
    });
    const raw = await new Promise<Buffer>((resolve, reject) =>
      composer.compile().build((error, message) => (error ? reject(error) : resolve(message))),
    );
    raws.push(raw);
    earlier.push({ messageId, subject, from, references, body: text.split('\n\n')[0] ?? text });
  }
  return { raws, kinds };
}
