import { sql } from 'kysely';
import { type Db, prepared } from '../../../db/database.ts';
import type { MailAddress } from '../parse.ts';
import type { InboundFilter, SenderMatch } from './types.ts';

// Domains anyone can have an address at: a sender there is never placed at a customer by domain.
export const sharedMailDomains: readonly (string | RegExp)[] = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'outlook.se',
  'hotmail.com',
  'hotmail.se',
  'live.com',
  'live.se',
  'msn.com',
  'yahoo.com',
  'yahoo.se',
  'ymail.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  /^gmx\.[a-z.]+$/,
  'web.de',
  'proton.me',
  'protonmail.com',
  'pm.me',
  'mail.com',
  'zoho.com',
  'yandex.com',
  'yandex.ru',
  'telia.com',
  'spray.se',
  'bredband.net',
  'comhem.se',
  'tele2.se',
  'bahnhof.se',
];

export function isSharedMailDomain(domain: string): boolean {
  const d = domain.toLowerCase();
  return sharedMailDomains.some((entry) => (typeof entry === 'string' ? entry === d : entry.test(d)));
}

// acme.se for per@acme.se, and mail.acme.se → also acme.se: a customer's sub-domains are its own.
export function domainCandidates(address: string): string[] {
  const domain = address.split('@')[1]?.toLowerCase().replace(/\.$/, '') ?? '';
  const labels = domain.split('.').filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i <= labels.length - 2; i += 1) out.push(labels.slice(i).join('.'));
  return out;
}

// "per.persson@acme.se" → "per.persson" when the mail gave no name.
function displayName(from: MailAddress): string {
  return (from.name || from.address.split('@')[0] || from.address).slice(0, 200);
}

type SenderCandidate = {
  contact_id: number | null;
  customer_id: number;
  name: string | null;
  email_domains: string[] | null;
};

// The contact with this address (an active one at an active customer first, then the oldest),
// and the active customers claiming one of the domains, in one round trip.
async function findSenderCandidates(db: Db, email: string, domains: string[]): Promise<SenderCandidate[]> {
  const { rows } = await sql<SenderCandidate>`${prepared}
    (select contacts.id as contact_id, contacts.customer_id, contacts.name, null::text[] as email_domains
       from contacts join customers on customers.id = contacts.customer_id
      where lower(contacts.email) = ${email}
      order by contacts.active desc, customers.active desc, contacts.id
      limit 1)
    union all
    (select null, id, null, email_domains
       from customers
      where active and email_domains && ${sql.val(domains)}::text[]
      order by id
      limit 10)`.execute(db);
  return rows;
}

export async function matchSender(db: Db, from: MailAddress | null): Promise<SenderMatch> {
  if (!from?.address) return { email: null, name: '?', customerId: null, contactId: null, newContact: null };
  const email = from.address.toLowerCase();
  const name = displayName(from);
  const candidates = domainCandidates(email);
  // a shared-mail domain places no one
  const domains = candidates.length && !isSharedMailDomain(candidates[0] as string) ? candidates : [];
  const found = await findSenderCandidates(db, email, domains);
  const contact = found.find((row) => row.contact_id !== null);
  if (contact) {
    return {
      email: from.address,
      name: from.name || (contact.name ?? ''),
      customerId: contact.customer_id,
      contactId: contact.contact_id,
      newContact: null,
    };
  }
  const customers = found.map((row) => ({ id: row.customer_id, email_domains: row.email_domains ?? [] }));
  // The most specific domain wins; two customers claiming the same one is for a person to sort out.
  for (const domain of domains) {
    const owners = customers.filter((c) => c.email_domains.includes(domain));
    if (owners.length === 1 && owners[0]) {
      const customerId = owners[0].id;
      return {
        email: from.address,
        name,
        customerId,
        contactId: null,
        newContact: { customerId, name, email: from.address },
      };
    }
    if (owners.length > 1) break;
  }
  return { email: from.address, name, customerId: null, contactId: null, newContact: null };
}

// M2: contact by address, else customer by domain (never a shared-mail domain), else unknown.
// Who answered a mail automatically is not made a contact.
export const senderFilter: InboundFilter = {
  name: 'sender',
  run: async (mail, verdict, ctx) => {
    const sender = await matchSender(ctx.db, mail.from);
    return { ...verdict, sender: verdict.kind === 'customer' ? sender : { ...sender, newContact: null } };
  },
};
