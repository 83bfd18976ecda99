import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FormError, parseForm, parseId, parseQuery, queryText, singleLine, versionField } from '../forms/form.ts';
import { todayIn } from '../i18n/i18n.ts';
import { slaBadgesOf } from '../service-levels/badges.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { isHtmx, redirectAfterPost, render } from '../web/render.ts';
import { CaseNotFoundError, quickEditCase, quickEditFields, StaleEditError } from './cases.ts';
import {
  activeTile,
  type Day,
  deleteSavedView,
  filterToQuery,
  findOverviewRowAndTiles,
  listOverviewKept,
  loadOverviewCountsKept,
  type OverviewRow,
  overviewQuerySchema,
  pageSize,
  parseOverviewFilter,
  saveView,
  slaAtRiskShownUpTo,
  type TileKey,
  tileQuery,
} from './overview.ts';
import { findCaseRef, loadCaseFormOptions } from './queries.ts';

type Body = Record<string, string | undefined>;

const pickerQuerySchema = z.object({ selected: queryText });
const quickEditSchema = z.object({
  field: z.enum(quickEditFields),
  version: versionField,
  value: z.string().default(''),
  // the value the row showed when the page was loaded: only a change to this field is a conflict
  loaded: z.string().max(40).optional(),
});
const savedViewSchema = z.object({
  name: singleLine()
    .default('')
    .transform((name) => name.slice(0, 80)),
  query: z
    .string()
    .default('')
    .transform((query) => query.replace(/^\?/, '').slice(0, 1000)),
});

export async function registerOverviewRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  const day = (): Day => ({ today: todayIn(config.timeZone), timeZone: config.timeZone });

  // The pickers: statuses, types and priorities go into every row; users only into the filter
  // (a row's responsible picker loads them when opened).
  const pickerOptions = () => loadCaseFormOptions(db, null);
  // The rows' HTML, made once per kept list (listOverviewKept), language and minute: each row's
  // service-level badge counts down in whole minutes and is worked out from the deadlines stored
  // on it, so within a minute the same list reads the same. A list read again (a case changed) is
  // a new array, and is made anew.
  const rowsHtmlKept = new WeakMap<readonly OverviewRow[], Map<string, Promise<string>>>();
  const rowsHtml = (request: FastifyRequest, reply: FastifyReply, rows: readonly OverviewRow[], today: string) => {
    const key = `${request.lang} ${Math.floor(Date.now() / 60_000)}`;
    let made = rowsHtmlKept.get(rows);
    if (!made) {
      made = new Map();
      rowsHtmlKept.set(rows, made);
    }
    let html = made.get(key);
    if (!html) {
      const locals = reply.locals;
      if (!locals) throw new Error('the view context is missing');
      // the minutes before are not asked for again
      made.clear();
      html = slaBadgesOf(db, rows).then((badges) =>
        app.view('cases/index/_rows', {
          rows: rows.map((row, i) => ({ ...row, sla_badge: badges[i] ?? null })),
          today,
          t: locals.t,
          fmt: locals.fmt,
          dataName: locals.dataName,
        }),
      );
      made.set(key, html);
      const failed = html;
      failed.catch(() => made?.get(key) === failed && made.delete(key));
    }
    return html;
  };

  // The row as stored now, with the tiles, or 404 when the case is gone.
  const renderRow = async (
    request: FastifyRequest,
    reply: FastifyReply,
    caseId: number,
    extra: { message?: string; error?: string; status?: number; live?: { activeTile: TileKey | null } },
  ) => {
    const user = currentUser(request);
    const today = day();
    const { row, tiles } = await findOverviewRowAndTiles(db, caseId, user, today);
    if (!row) throw notFound();
    const [badge] = await slaBadgesOf(db, [row]);
    // the row carries its values only (public/row-pickers.js builds its pickers from the page)
    // a live update (public/live.js) brings no message, and keeps the page's active tile
    return reply.code(extra.status ?? 200).view(extra.live ? 'cases/index/_row-live' : 'cases/index/_row-update', {
      row: { ...row, sla_badge: badge ?? null },
      tiles,
      slaAtRiskShownUpTo,
      tileQuery,
      activeTile: extra.live?.activeTile ?? null,
      today: today.today,
      ...extra,
      filterToQuery,
    });
  };

  app.get('/cases', { config: { countsUnread: true } }, async (request, reply) => {
    const user = currentUser(request);
    const filter = parseOverviewFilter(parseQuery(overviewQuerySchema, request.query));
    const swapsResults = isHtmx(request) && request.headers['hx-target'] === 'overview-results';
    // the day in the configured zone, worked out once per request (an Intl call)
    const today = day();
    // At most two statements, none while nothing they read has changed (listOverviewKept): the
    // rows, and every count (with the bell and the saved views when the whole page is rendered).
    const [list, counts, options] = await Promise.all([
      listOverviewKept(db, filter, user, today),
      loadOverviewCountsKept(db, user, today, { page: !swapsResults }),
      pickerOptions(),
    ]);
    const html = await rowsHtml(request, reply, list.rows, today.today);
    const { tiles, savedViews } = counts;
    if (reply.locals) reply.locals.unreadCount = counts.unread;
    const users = options.users;
    // The address bar gets the canonical filter, not every empty field of the form.
    if (swapsResults) reply.header('HX-Push-Url', `/cases${filterToQuery(filter)}`);
    return render(
      request,
      reply,
      // A filter change from the overview's own controls swaps only the results and tiles.
      { page: 'cases/index', fragment: swapsResults ? 'cases/index/_results' : undefined },
      {
        filter,
        rows: list.rows,
        rowsHtml: html,
        hasMore: list.hasMore,
        pageSize,
        tiles,
        slaAtRiskShownUpTo,
        tileQuery,
        activeTile: activeTile(filter),
        options,
        users,
        savedViews,
        today: today.today,
        filterToQuery,
        query: filterToQuery(filter),
        withoutEditors: true,
      },
    );
  });

  // Live updates (src/live/, public/live.js): a changed case's row as stored now, with the tiles
  // out of band; or the tiles alone, when the changed cases are not on the page. The page's own
  // query comes along, so its active tile stays marked.
  const liveTile = (request: FastifyRequest) => ({
    activeTile: activeTile(parseOverviewFilter(parseQuery(overviewQuerySchema, request.query))),
  });
  app.get<{ Params: { number: string } }>('/cases/:number/row', async (request, reply) => {
    const kase = await findCaseRef(db, request.params.number);
    if (!kase) throw notFound();
    reply.header('Cache-Control', 'no-store');
    return renderRow(request, reply, kase.id, { live: liveTile(request) });
  });
  app.get('/cases/tiles', async (request, reply) => {
    const today = day();
    const counts = await loadOverviewCountsKept(db, currentUser(request), today, { page: false });
    reply.header('Cache-Control', 'no-store');
    return reply.view('cases/index/_tiles', {
      tiles: counts.tiles,
      slaAtRiskShownUpTo,
      tileQuery,
      activeTile: liveTile(request).activeTile,
    });
  });

  app.get('/cases/pickers/responsible', async (request, reply) => {
    const { selected } = parseQuery(pickerQuerySchema, request.query);
    const users = await db
      .selectFrom('users')
      .select(['id', 'name', 'login'])
      .where('active', '=', true)
      .orderBy('name')
      .execute();
    return reply.view('cases/pickers/_responsible', { users, selected: selected ?? '' });
  });

  app.post<{ Params: { number: string }; Body: Body }>('/cases/:number/quick-edit', async (request, reply) => {
    const { number } = request.params;
    const user = currentUser(request);
    const form = parseForm(quickEditSchema, request.body);
    // an unknown field is no part of the row; the same field named twice is a form to send again
    if (!form.ok && form.errors.field && form.errors.field !== 'errors.repeated') throw notFound();
    try {
      if (!form.ok) throw new FormError(form.errors);
      const { field, version, value, loaded } = form.data;
      // locked by its number: one statement fewer than finding the case first (issue 16)
      const saved = await quickEditCase(db, { number }, version, field, value, user, {
        config: app.deps.config,
        loaded,
      });
      if (field === 'responsible_id') app.deps.mailSender?.kick();
      return renderRow(request, reply, saved.id, { message: request.t('overview.saved', { number: saved.number }) });
    } catch (error) {
      if (error instanceof CaseNotFoundError) throw notFound();
      const stale = error instanceof StaleEditError;
      if (!stale && !(error instanceof FormError)) throw error;
      const kase = stale ? error.current : await findCaseRef(db, number);
      if (!kase) throw notFound();
      // The row comes back with the values now stored, so the old value is put back in the picker.
      // A row's picker names its field's conflict; an edit without the loaded value, any change.
      const field = form.ok ? form.data.field : undefined;
      const repeated = !form.ok && Object.values(form.errors).includes('errors.repeated');
      const message = !stale
        ? request.t(repeated ? 'overview.repeated' : 'overview.invalid', { number: kase.number })
        : field && form.ok && form.data.loaded !== undefined
          ? request.t('overview.stale_field', {
              number: kase.number,
              field: request.t(`cases.field.${field}`).toLowerCase(),
            })
          : request.t('overview.stale', { number: kase.number });
      return renderRow(request, reply, kase.id, {
        error: message,
        status: stale ? 409 : 422,
      });
    }
  });

  app.post('/cases/views', async (request, reply) => {
    const form = parseForm(savedViewSchema, request.body);
    if (!form.ok) throw new FormError(form.errors);
    const { name, query } = form.data;
    // Store (and go back to) the canonical form, so a saved view is exactly what the filter means.
    const canonical = filterToQuery(parseOverviewFilter(Object.fromEntries(new URLSearchParams(query))));
    if (!name) return redirectAfterPost(request, reply, `/cases${canonical}`, request.t('overview.view_name_required'));
    await saveView(db, currentUser(request).id, name, canonical);
    return redirectAfterPost(request, reply, `/cases${canonical}`, request.t('overview.view_saved', { name }));
  });

  app.post<{ Params: { id: string } }>('/cases/views/:id/deletion', async (request, reply) => {
    const id = parseId(request.params.id);
    if (id) await deleteSavedView(db, currentUser(request).id, id);
    return redirectAfterPost(request, reply, '/cases', request.t('common.saved'));
  });
}
