import { type Kysely, sql } from 'kysely';
import type { Config } from '../config.ts';
import type { Database, Language } from '../db/schema.ts';
import { translator } from '../i18n/i18n.ts';
import { subjectWithTag } from '../mail/outbound/compose.ts';
import { enqueueSystemMailsToWrite, type SystemMailParam, type SystemMailsToWrite } from '../mail/outbound/outbox.ts';
import { loadMailSettings } from '../mail/outbound/settings.ts';
import { absoluteUrl, paramsNamedBy, queueSystemMail, writeSystemMailText } from '../mail/outbound/system-mail.ts';

export type NewNotification = {
  userId: number;
  actorId: number | null;
  // customer_replied: a mail from the customer opened a waiting or closed case again
  // sla_warning / sla_breached: a service-level deadline of the case is near / has passed
  // (src/service-levels/escalation.ts); always by e-mail too, as they ask for action in time
  kind: 'assigned' | 'mentioned' | 'customer_replied' | 'sla_warning' | 'sla_breached';
  caseId: number | null;
  summary: string;
  // the app's own path, e.g. /cases/2026-00042/discussion#post-7
  link: string;
  // sla_warning / sla_breached: the target, named on the bell's line
  slaTarget?: 'first_response' | 'next_response' | 'resolution' | null;
};

export type NotifyOptions = {
  // The e-mail needs PUBLIC_URL and the mail settings. Without the config only the bell rings,
  // which is what demo data, seeds and benchmarks want.
  config: Config | undefined;
};

// Rings the user's bell and, unless they switched that kind off (or have no address, or left),
// queues an e-mail too. Runs in the caller's transaction: no notification without its cause.
// The caller kicks the mail sender after committing.
export async function notifyUser(db: Kysely<Database>, n: NewNotification, opts: NotifyOptions): Promise<void> {
  await db
    .insertInto('notifications')
    .values({
      user_id: n.userId,
      actor_id: n.actorId,
      kind: n.kind,
      case_id: n.caseId,
      summary: n.summary,
      link: n.link,
      sla_target: n.slaTarget ?? null,
    })
    .execute();
  if (opts.config) await queueNotificationMail(db, opts.config, n);
}

// The catalogue keys of a notification mail's texts
type MailTexts = { subject: string; body: string; open: string };

// The kinds that may also come by e-mail, each with the user's switch and its texts; other
// kinds ring the bell only.
function mailTextsFor(
  kind: NewNotification['kind'],
  user: { email_on_mention: boolean; email_on_assigned: boolean },
): MailTexts | null {
  if (kind === 'mentioned' && user.email_on_mention) {
    return {
      subject: 'notifymail.mentioned.subject',
      body: 'notifymail.mentioned.body',
      open: 'notifymail.mentioned.open',
    };
  }
  if (kind === 'sla_warning' || kind === 'sla_breached') {
    return {
      subject: `notifymail.${kind}.subject`,
      body: `notifymail.${kind}.body`,
      open: 'notifymail.assigned.open',
    };
  }
  if (kind === 'assigned' && user.email_on_assigned) {
    return {
      subject: 'notifymail.assigned.subject',
      body: 'notifymail.assigned.body',
      open: 'notifymail.assigned.open',
    };
  }
  return null;
}

async function queueNotificationMail(db: Kysely<Database>, config: Config, n: NewNotification): Promise<void> {
  const recipient = await db
    .selectFrom('users')
    .select(['email', 'language', 'active', 'email_on_mention', 'email_on_assigned'])
    .where('id', '=', n.userId)
    .executeTakeFirst();
  if (!recipient?.active || !recipient.email) return;
  const actor = n.actorId
    ? await db.selectFrom('users').select('name').where('id', '=', n.actorId).executeTakeFirst()
    : undefined;
  const kase = n.caseId
    ? await db.selectFrom('cases').select(['id', 'number', 'title']).where('id', '=', n.caseId).executeTakeFirst()
    : undefined;
  const t = translator(recipient.language ?? config.defaultLanguage);
  const params = { actor: actor?.name ?? t('history.system'), case: n.summary, title: kase?.title ?? n.summary };
  const texts = mailTextsFor(n.kind, recipient);
  if (!texts) return;
  await queueSystemMail(db, config, {
    kind: 'notification',
    to: recipient.email,
    subject: t(texts.subject, params),
    paragraphs: [
      { text: t(texts.body, params) },
      { text: t(texts.open), href: absoluteUrl(config, n.link) },
      { text: t('notifymail.why'), href: absoluteUrl(config, '/account'), small: true },
    ],
    kase,
    actorId: n.actorId,
  });
}

// notifyUser for many at once (the escalation job's thousands): one insert for the bells, the
// recipients and cases read once, and the mails queued as what to write: catalogue keys and
// parameters, written in each recipient's language by the sender when they go
// (outbox.SystemMailToWrite), so the caller's transaction holds no composing and each mail costs
// a few hundred bytes. `params` fills the kind's mail texts beside actor, case and title; a date in
// it is written in the configured time zone when the mail goes. Runs in the caller's transaction;
// the caller kicks the mail sender after committing.
export async function notifyUsers(
  db: Kysely<Database>,
  list: (NewNotification & {
    params?: Record<string, SystemMailParam>;
    // the case's number and title when the caller has them: its mail needs them, and reading
    // 100,000 cases again cost the escalation job half a second
    kase?: { number: string; title: string };
  })[],
  opts: NotifyOptions,
): Promise<{ notified: number; mailed: number }> {
  if (!list.length) return { notified: 0, mailed: 0 };
  const config = opts.config;
  if (!config) {
    await ringBells(db, list);
    return { notified: list.length, mailed: 0 };
  }
  const userIds = [...new Set(list.map((n) => n.userId))];
  const caseIds = [...new Set(list.flatMap((n) => (n.caseId && !n.kase ? [n.caseId] : [])))];
  const actorIds = [...new Set(list.flatMap((n) => (n.actorId ? [n.actorId] : [])))];
  // one after the other: in the caller's transaction they share one connection. `= any(array)`:
  // one parameter, where `in` would need one per case and stops at 65,535.
  const users = await db
    .selectFrom('users')
    .select(['id', 'email', 'language', 'active', 'email_on_mention', 'email_on_assigned'])
    .where(sql<boolean>`id = any(${userIds}::integer[])`)
    .execute();
  const cases = caseIds.length
    ? await db
        .selectFrom('cases')
        .select(['id', 'number', 'title'])
        .where(sql<boolean>`id = any(${caseIds}::integer[])`)
        .execute()
    : [];
  const actors = actorIds.length
    ? await db
        .selectFrom('users')
        .select(['id', 'name'])
        .where(sql<boolean>`id = any(${actorIds}::integer[])`)
        .execute()
    : [];
  const settings = await loadMailSettings(db, config);
  const userOf = new Map(users.map((u) => [u.id, u]));
  const caseOf = new Map(cases.map((c) => [c.id, c]));
  const actorOf = new Map(actors.map((a) => [a.id, a.name]));
  // PostgreSQL inserts the bells while the mails are written here, on the other core. The
  // statement is megabytes: the loop yields to the event loop now and then, so the socket gets
  // the rest of it to PostgreSQL, which would otherwise wait for the loop to end.
  const bells = ringBells(db, list);
  bells.catch(() => {}); // its failure is thrown where it is awaited
  const account = absoluteUrl(config, '/account');
  // The mails in groups of one language and the same texts, each group queued as columns
  // (outbox.SystemMailsToWrite): the body's parameters and the link are one column each.
  const groups = new Map<string, MailGroup>();
  let mailed = 0;
  for (const [i, n] of list.entries()) {
    if (i % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
    const recipient = userOf.get(n.userId);
    if (!recipient?.active || !recipient.email) continue;
    // the user's own switches for the kinds that have them
    const texts = mailTextsFor(n.kind, recipient);
    if (!texts) continue;
    const kase = n.caseId ? (n.kase ? { id: n.caseId, ...n.kase } : caseOf.get(n.caseId)) : undefined;
    const language = recipient.language ?? config.defaultLanguage;
    const t = translator(language);
    const params: Record<string, SystemMailParam> = {
      actor: (n.actorId && actorOf.get(n.actorId)) || t('history.system'),
      case: n.summary,
      title: kase?.title ?? n.summary,
      ...n.params,
    };
    // a catalogue text is written now, in the group's language; a date when the mail goes
    const body: { name: string; value: string | { dateTime: string } }[] = [];
    let kinds = '';
    for (const [name, param] of Object.entries(paramsNamedBy(texts.body, language, params))) {
      const value = typeof param === 'string' ? param : 'key' in param ? t(param.key) : param;
      body.push({ name, value });
      kinds += typeof value === 'string' ? ` ${name}` : ` ${name}:date`;
    }
    const groupKey = `${language} ${texts.body} ${texts.open}${kinds}`;
    let group = groups.get(groupKey);
    if (!group) {
      group = mailGroup(language, settings.fromAddress, texts, body, account);
      groups.set(groupKey, group);
    }
    const subject = writeSystemMailText({ key: texts.subject, params }, language, config.timeZone);
    const { mails } = group;
    mails.case_id.push(kase?.id ?? null);
    mails.to.push(recipient.email);
    mails.subject.push(kase ? subjectWithTag(settings.subjectTag, kase.number, subject) : subject);
    mails.created_by.push(n.actorId);
    mails.caseNumber.push(kase?.number ?? null);
    for (const { name, value } of body) {
      const column = group.body[name];
      if (column && 'text' in column && typeof value === 'string') column.text.push(value);
      else if (column && 'dateTime' in column && typeof value !== 'string') column.dateTime.push(value.dateTime);
    }
    group.links.push(absoluteUrl(config, n.link));
    mailed += 1;
  }
  await bells;
  for (const { mails } of groups.values()) await enqueueSystemMailsToWrite(db, mails);
  return { notified: list.length, mailed };
}

// The bells of notifyUsers. unnest: one parameter per column, however many rows (a values list
// stops at 65,535 parameters).
async function ringBells(db: Kysely<Database>, list: NewNotification[]): Promise<void> {
  await sql`
    insert into notifications (user_id, actor_id, kind, case_id, summary, link, sla_target)
    select * from unnest(
      ${list.map((n) => n.userId)}::integer[], ${list.map((n) => n.actorId)}::integer[],
      ${list.map((n) => n.kind)}::text[], ${list.map((n) => n.caseId)}::integer[],
      ${list.map((n) => n.summary)}::text[], ${list.map((n) => n.link)}::text[],
      ${list.map((n) => n.slaTarget ?? null)}::text[])`.execute(db);
}

// One group of notifyUsers' mails: its columns, with the body's parameters and the links apart
// for filling.
type MailGroup = {
  mails: SystemMailsToWrite;
  body: Record<string, { text: string[] } | { dateTime: string[] }>;
  links: string[];
};

function mailGroup(
  language: Language,
  from: string,
  texts: MailTexts,
  body: { name: string; value: string | { dateTime: string } }[],
  account: string,
): MailGroup {
  const params = Object.fromEntries(
    body.map(({ name, value }) => [name, typeof value === 'string' ? { text: [] } : { dateTime: [] }]),
  );
  const links: string[] = [];
  return {
    mails: {
      language,
      envelope_from: from,
      case_id: [],
      to: [],
      subject: [],
      created_by: [],
      caseNumber: [],
      paragraphs: [
        { key: texts.body, params },
        { key: texts.open, href: links },
        { key: 'notifymail.why', href: account, small: true },
      ],
    },
    body: params,
    links,
  };
}

export async function countUnread(db: Kysely<Database>, userId: number): Promise<number> {
  const row = await unreadCount(db, userId).executeTakeFirstOrThrow();
  return row.n;
}

// The bell counts up to this many and then shows "99+": a user who never reads the bell (an
// escalation user gets one per deadline) would otherwise make every page they open count
// thousands of rows.
export const unreadShownUpTo = 100;

// The bell's count as a query of one row and column n, for a page that folds it into a statement
// of its own (the overview's counts).
export function unreadCount(db: Kysely<Database>, userId: number) {
  const unread = db
    .selectFrom('notifications')
    .select('id')
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .limit(unreadShownUpTo);
  return db.selectFrom(unread.as('u')).select((eb) => eb.fn.countAll<number>().as('n'));
}

export async function listNotifications(db: Kysely<Database>, userId: number, limit = 50) {
  return db
    .selectFrom('notifications')
    .leftJoin('users as actor', 'actor.id', 'notifications.actor_id')
    .select([
      'notifications.id',
      'notifications.kind',
      'notifications.summary',
      'notifications.link',
      'notifications.sla_target',
      'notifications.read_at',
      'notifications.created_at',
      'actor.name as actor_name',
      // "KALLE mentioned you": colleagues know each other by user ID, as in an @mention.
      'actor.login as actor_login',
    ])
    .where('notifications.user_id', '=', userId)
    .orderBy('notifications.id', 'desc')
    .limit(limit)
    .execute();
}

// Opening a notification marks it read; only its owner can. Opening it again (a second click, a
// stale tab) still leads to it and keeps the time it was first read.
export async function markNotificationRead(db: Kysely<Database>, userId: number, id: string): Promise<string | null> {
  const row = await db
    .updateTable('notifications')
    .set({ read_at: sql`coalesce(read_at, now())` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('link')
    .executeTakeFirst();
  return row?.link ?? null;
}

// "Mark all as read": every unread notification of this user, and no one else's. Nothing unread
// (a second click) changes nothing. Returns how many were marked.
export async function markAllNotificationsRead(db: Kysely<Database>, userId: number): Promise<number> {
  const result = await db
    .updateTable('notifications')
    .set({ read_at: new Date() })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
