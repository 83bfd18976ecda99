import type { FastifyReply, FastifyRequest } from 'fastify';
import { loadCaseApproval } from '../approvals/queries.ts';
import { listLinkedCases } from '../case-links/queries.ts';
import { type CaseView, findCaseByNumber, findCaseWithUnreadCount, loadCaseFormOptions } from '../cases/queries.ts';
import { historyTab, internalTab } from '../cases/tabs.ts';
import { cachedRead, deepFreeze } from '../db/cached.ts';
import { discussionTab } from '../discussions/tab.ts';
import { documentsTab } from '../documents/tab.ts';
import { slaBadgesOf } from '../service-levels/badges.ts';
import { listUnsentReplies } from '../threads/send.ts';
import { threadTab } from '../threads/tab.ts';
import { currentUser } from '../web/context.ts';
import { HttpError, notFound } from '../web/errors.ts';
import { isHtmx, render } from '../web/render.ts';
import type { CaseTab } from './tab.ts';

type Body = Record<string, string | undefined>;

export const caseTabs: CaseTab[] = [threadTab, discussionTab, internalTab, documentsTab, historyTab];

export function findTab(name: string): CaseTab {
  const tab = caseTabs.find((t) => t.name === name);
  if (!tab) throw notFound();
  return tab;
}

// Every table the case page reads, whichever tab is open: what it shows is kept in the process
// until one of them changes anywhere (src/db/cached.ts), and each tells of its changes (migrations
// 20261204_0500_change_notify, 1800_kept_pages_notify_change).
// case-page-kept.test.ts checks this list against the statements each tab's page runs.
export const casePageTables = [
  'cases',
  'case_statuses',
  'case_types',
  'priorities',
  'customers',
  'contacts',
  'users',
  'work_orders',
  'notifications',
  'thread_entries',
  'inbound_messages',
  'outbox',
  'drafts',
  'canned_replies',
  'discussion_posts',
  'case_events',
  'documents',
  'document_folders',
  'files',
  'approval_chains',
  'case_links',
];

// The cases loadCaseForPage read just now, after its fence: what the page then reads besides the
// case needs no second one. A case read any other way (a form post that just wrote) has not been
// fenced, and the page's other reads wait until this request's own write has been heard.
const readAfterFence = new WeakSet<CaseView>();

// For a GET of the whole page (routes with config countsUnread): the case and the bell's count
// in one statement, or none while nothing the page shows has changed since it was last read.
// Exact: a change committed anywhere before the request is always seen.
export async function loadCaseForPage(
  request: FastifyRequest<{ Params: { number: string } }>,
  reply: FastifyReply,
): Promise<CaseView> {
  const db = request.server.deps.db;
  const { number } = request.params;
  const userId = currentUser(request).id;
  const found = await cachedRead(
    db,
    `case-page:${userId}:${number}`,
    casePageTables,
    async () => deepFreeze(await findCaseWithUnreadCount(db, number, userId)),
    { exact: true, room: { name: 'case-page', size: 200 } },
  );
  if (!found) throw notFound();
  if (reply.locals) reply.locals.unreadCount = found.unread;
  readAfterFence.add(found.kase);
  return found.kase;
}

export async function loadCase(request: FastifyRequest<{ Params: { number: string } }>): Promise<CaseView> {
  const found = await findCaseByNumber(request.server.deps.db, request.params.number);
  if (!found) throw notFound();
  // a merged case is closed and carries on in another (src/cases/merge.ts): nothing more is done
  // here, and its page leads there (src/cases/routes.ts)
  if (found.merged_into_number)
    throw Object.assign(new HttpError(409, 'merged case'), { messageKey: 'merge.was_merged' });
  return found;
}

export function headerValues(c: CaseView): Body {
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return {
    title: c.title,
    responsible_id: text(c.responsible_id),
    customer: text(c.customer_number),
    status_id: String(c.status_id),
    case_type_id: String(c.case_type_id),
    priority_id: text(c.priority_id),
    due_date: text(c.due_date),
    contact_id: text(c.contact_id),
    contact_name: text(c.contact_name),
    contact_email: text(c.contact_email),
    contact_phone: text(c.contact_phone),
    version: String(c.version),
  };
}

export type CasePageExtra = {
  // Header form state after a failed save (values typed, field errors, stale edit).
  values?: Body;
  errors?: Record<string, string>;
  stale?: boolean;
  status?: number;
  // After a failed save: the customer the form named, whose contacts the header then offers.
  customerId?: number | null;
  // Anything the tab's fragment needs beyond its loader, e.g. a form's typed values and errors.
  tabData?: Record<string, unknown>;
};

// The case page with one tab open; an htmx request gets only that tab's fragment.
export async function renderCasePage(
  request: FastifyRequest,
  reply: FastifyReply,
  kase: CaseView,
  tabName: string,
  extra: CasePageExtra = {},
): Promise<FastifyReply> {
  const db = request.server.deps.db;
  const tab = findTab(tabName);
  const user = currentUser(request);
  const whole = !isHtmx(request);
  const customerId = extra.customerId !== undefined ? extra.customerId : kase.customer_id;
  const load = async () => {
    const [options, tabData, approval, linkedCases] = await Promise.all([
      loadCaseFormOptions(db, customerId),
      tab.load({ db, kase, user }),
      // a document case shows its document (and the approver's decision form) above the tabs
      whole ? loadCaseApproval(db, kase.id, user.id) : null,
      // "Linked cases" beside the header, on the whole page only
      whole ? listLinkedCases(db, kase.id) : null,
    ]);
    // For the Manage menu, which only the whole page shows. The thread tab has read every entry
    // with its mail's state already and passes them on.
    const unsentReplies = !whole
      ? []
      : 'unsentReplies' in tabData
        ? tabData.unsentReplies
        : await listUnsentReplies(db, kase.id);
    return deepFreeze({ options, tabData, approval, unsentReplies, linkedCases });
  };
  // Kept like the case itself (loadCaseForPage), for the case as read then: its version is in the
  // key. Exact unless the case was read after the fence a moment ago (readAfterFence).
  const [{ options, tabData, approval, unsentReplies, linkedCases }, slaBadge] = await Promise.all([
    cachedRead(
      db,
      `case-page:${user.id}:${kase.id}:${kase.version}:${tab.name}:${customerId}:${whole}`,
      casePageTables,
      load,
      { exact: !readAfterFence.has(kase), room: { name: 'case-page-tabs', size: 60 } },
    ),
    whole ? slaBadgesOf(db, [kase]).then(([badge]) => badge ?? null) : null,
  ]);
  // The page carries the user's drafts (src/drafts/): going back to it must ask the server again,
  // not show a copy from the browser's cache that has the boxes as they were before.
  reply.header('Cache-Control', 'no-store');
  return render(
    request,
    reply,
    { page: 'cases/show', fragment: `cases/show/_${tab.name}`, status: extra.status },
    {
      kase,
      tab: tab.name,
      tabs: caseTabs,
      options,
      values: extra.values ?? headerValues(kase),
      errors: extra.errors ?? {},
      stale: extra.stale ?? false,
      unsentReplies,
      approval,
      linkedCases,
      slaBadge,
      ...tabData,
      ...extra.tabData,
    },
  );
}
