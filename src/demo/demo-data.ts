import { startApprovalIfRequired } from '../approvals/chains.ts';
import { createCase } from '../cases/cases.ts';
import { saveInternalNote } from '../cases/internal-note.ts';
import { createContact, createCustomer } from '../customers/customers.ts';
import type { Db } from '../db/database.ts';
import type { User } from '../db/schema.ts';
import { addDiscussionPost } from '../discussions/discussions.ts';
import { addCaseDocument } from '../documents/documents.ts';
import { addStaffReply } from '../threads/threads.ts';
import { generatePassword } from '../users/password.ts';
import { createUser } from '../users/users.ts';
import { createProject } from '../work-orders/projects.ts';
import { createWorkOrderFromCase } from '../work-orders/work-orders.ts';

const staff = [
  { login: 'KALLE', name: 'Kalle Svensson', email: 'kalle@casedesk.example' },
  { login: 'ANNA', name: 'Anna Lindqvist', email: 'anna@casedesk.example' },
  { login: 'ERIK', name: 'Erik Johansson', email: 'erik@casedesk.example' },
  { login: 'SARA', name: 'Sara Nilsson', email: 'sara@casedesk.example' },
];

const companies = [
  { number: '10001', name: 'Bergström Bygg AB', domain: 'bergstrombygg.se', contacts: ['Lars Bergström', 'Maria Ek'] },
  {
    number: '10002',
    name: 'Nordic Print & Papper',
    domain: 'nordicprint.se',
    contacts: ['Johan Åkesson', 'Eva Strand'],
  },
  { number: '10003', name: 'Sjöberg Redovisning', domain: 'sjobergredovisning.se', contacts: ['Karin Sjöberg'] },
  {
    number: '10004',
    name: 'Östra Vårdcentralen',
    domain: 'ostravc.se',
    contacts: ['Peter Holm', 'Lena Öst', 'Ali Hassan'],
  },
  { number: '10005', name: 'Gustafssons Åkeri', domain: 'gustafssonsakeri.se', contacts: ['Mats Gustafsson'] },
  {
    number: '10006',
    name: 'Lindahl Fastigheter',
    domain: 'lindahlfastigheter.se',
    contacts: ['Sofia Lindahl', 'Oskar Berg'],
  },
  { number: '10007', name: 'Kafé Kanelbullen', domain: 'kanelbullen.se', contacts: ['Fatima Karlsson'] },
  { number: '10008', name: 'Hallands El & VVS', domain: 'hallandsel.se', contacts: ['Nils Persson', 'Ida Wallin'] },
];

const problems = [
  ['Skrivaren fastnar', 'Skrivaren på andra våningen fastnar på varje utskrift sedan i morse.'],
  ['Faktura 4711 saknas', 'Vi har inte fått fakturan för oktober. Kan ni skicka den igen?'],
  ['Kan inte logga in i portalen', 'Jag får "fel lösenord" fast jag har bytt lösenord två gånger.'],
  ['Fel belopp på fakturan', 'Fakturan är på 12 400 kr men offerten var 10 900 kr.'],
  ['Beställning av toner', 'Vi behöver fem svarta och två färgtoner till kontoret.'],
  ['Nätverket går långsamt', 'Allt går väldigt långsamt efter lunch, särskilt e-posten.'],
  ['Byte av kontaktperson', 'Från och med nästa månad är det Eva som är er kontakt hos oss.'],
  ['Reklamation: trasig leverans', 'Två av kartongerna var skadade vid leverans i tisdags.'],
  ['Fråga om avtalet', 'Ingår service på helger i vårt avtal?'],
  ['Uppsägning av licens', 'Vi vill säga upp tre av våra användarlicenser.'],
];

const replies = [
  'Tack för ditt meddelande! Vi tittar på det och återkommer under dagen.',
  'Kan du skicka en bild på felmeddelandet?',
  'Vi har nu åtgärdat felet. Hör av dig om något fortfarande krånglar.',
  'En tekniker kommer ut på torsdag förmiddag.',
];

// A small Swedish organisation to try Casedesk with: users, customers with contacts, canned
// replies and about fifty cases with threads, discussions, documents and notes. Returns false if data already exists.
// The demo users' password is generated for each seeding and said once in the log, like ADMIN's:
// a fixed one would open every demo install to anyone who read this file.
export async function seedDemoData(
  db: Db,
  log: (msg: string) => void = () => {},
  password: string = generatePassword(),
): Promise<boolean> {
  const existing = await db.selectFrom('customers').select('id').limit(1).executeTakeFirst();
  if (existing) return false;
  const started = Date.now();

  const users: User[] = [];
  for (const s of staff) {
    const found = await db.selectFrom('users').selectAll().where('login', '=', s.login).executeTakeFirst();
    users.push(found ?? (await createUser(db, { ...s, initials: '', role: 'agent', language: null }, password)));
  }

  await db
    .insertInto('canned_replies')
    .values([
      {
        title: 'Tack för ditt mejl',
        body_html:
          '<div>Hej!<br><br>Tack för ditt mejl. Vi återkommer så snart vi kan.<br><br>Med vänliga hälsningar</div>',
      },
      {
        title: 'Behöver mer information',
        body_html:
          '<div>Hej!<br><br>För att kunna hjälpa dig behöver vi lite mer information:<ul><li>När uppstod felet?</li><li>Vilket felmeddelande visas?</li></ul></div>',
      },
      {
        title: 'Ärendet är löst',
        body_html:
          '<div>Hej!<br><br>Vi har nu löst ärendet. Svara på detta mejl om något fortfarande inte fungerar.</div>',
      },
    ])
    .onConflict((oc) => oc.column('title').doNothing())
    .execute();

  const customers: { id: number; contacts: { id: number; name: string }[] }[] = [];
  for (const c of companies) {
    const customer = await createCustomer(db, { number: c.number, name: c.name, email_domains: [c.domain] });
    const contacts = [];
    for (const name of c.contacts) {
      const local =
        name
          .toLowerCase()
          .split(' ')[0]
          ?.normalize('NFD')
          .replace(/[^a-z]/g, '') ?? 'info';
      contacts.push(
        await createContact(db, customer.id, { name, email: `${local}@${c.domain}`, phone: '08-555 01 00' }),
      );
    }
    customers.push({ id: customer.id, contacts });
  }

  const statuses = await db.selectFrom('case_statuses').select(['id', 'kind']).orderBy('position').execute();
  const types = await db.selectFrom('case_types').select('id').orderBy('position').execute();
  const priorities = await db.selectFrom('priorities').select('id').orderBy('rank').execute();
  const pick = <T>(list: T[], i: number): T => list[i % list.length] as T;
  // A category for contracts, without a structure: administration may give it one (issue 8).
  await db
    .insertInto('document_folders')
    .values({ name: 'Avtal', position: 2 })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const generalFolder = await db
    .selectFrom('document_folders')
    .select('id')
    .where('system_key', 'is', null)
    .orderBy('position')
    .executeTakeFirstOrThrow();

  for (let i = 0; i < 50; i++) {
    const customer = pick(customers, i * 7);
    const contact = pick(customer.contacts, i);
    const [title, text] = pick(problems, i * 3);
    const responsible = pick(users, i);
    const status = pick(statuses, i % 5 === 0 ? 3 : i % 4);
    const due = new Date(Date.now() + ((i % 9) - 3) * 86_400_000).toISOString().slice(0, 10);
    const created = await createCase(
      db,
      {
        title: title ?? 'Ärende',
        responsible_id: responsible.id,
        customer_id: customer.id,
        status_id: status.id,
        case_type_id: pick(types, i).id,
        priority_id: pick(priorities, i * 5).id,
        due_date: i % 3 === 0 ? due : null,
        contact_id: contact.id,
        contact_name: null,
        contact_email: null,
        contact_phone: null,
        body_html: `<div>${text}</div>`,
      },
      responsible,
    );
    for (let r = 0; r < i % 3; r++) {
      await addStaffReply(
        db,
        created.id,
        { body_html: `<div>${pick(replies, i + r)}</div>`, delivery: 'saved' },
        responsible,
      );
    }
    if (i % 4 === 1) {
      const colleague = pick(users, i + 1);
      await addDiscussionPost(
        db,
        created.id,
        `<div>@${colleague.login} kan du titta på det här? Kunden verkar stressad.</div>`,
        responsible,
      );
      await addDiscussionPost(db, created.id, '<div>Absolut, jag ringer dem efter lunch.</div>', colleague);
    }
    if (i % 5 === 2) {
      await addCaseDocument(db, {
        caseId: created.id,
        folderId: generalFolder.id,
        fileName: `anteckningar-${created.number}.txt`,
        contentType: 'text/plain',
        stream: Buffer.from(`Anteckningar för ärende ${created.number}: ${text}\n`, 'utf8'),
        user: responsible,
        maxBytes: 1024 * 1024,
        startApproval: startApprovalIfRequired,
      });
    }
    if (i % 6 === 0) {
      await saveInternalNote(
        db,
        created.id,
        1,
        `Kunden har ringt om detta tidigare. /${responsible.name}`,
        responsible,
      );
    }
  }
  await seedDemoWorkOrders(db, customers, users);
  log(`demo data seeded in ${Date.now() - started} ms (users KALLE, ANNA, ERIK, SARA; password "${password}")`);
  return true;
}

// Projects for three customers, and one open case of the first already made into a work order (H2, O5).
async function seedDemoWorkOrders(db: Db, customers: { id: number }[], users: User[]): Promise<void> {
  const names = ['Nytt skrivarnätverk', 'Serviceavtal 2026', 'Flytt av kontoret'];
  const projects = [];
  for (const [i, name] of names.entries()) {
    const customer = customers[i];
    const responsible = users[i % users.length];
    if (!customer || !responsible) continue;
    projects.push(
      await createProject(
        db,
        { number: null, name, customer_id: customer.id, responsible_id: responsible.id, active: true },
        responsible,
      ),
    );
  }
  const project = projects[0];
  const actor = users[0];
  if (!project?.customer_id || !actor) return;
  const kase = await db
    .selectFrom('cases')
    .select(['id', 'title', 'responsible_id'])
    .where('customer_id', '=', project.customer_id)
    .where('status_kind', '=', 'open')
    .orderBy('id')
    .executeTakeFirst();
  if (!kase) return;
  await createWorkOrderFromCase(
    db,
    kase.id,
    { project_id: project.id, responsible_id: kase.responsible_id, name: kase.title },
    actor,
  );
}
