import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { loadCaseFormOptions } from '../cases/queries.ts';
import { parseId, parseQuery, queryText } from '../forms/form.ts';
import { todayIn } from '../i18n/i18n.ts';
import { currentUser } from '../web/context.ts';
import { forbidden, notFound } from '../web/errors.ts';
import { render } from '../web/render.ts';
import { barChart, type ChartId, chartIds, chartTables, lineChart, overviewLink, toCsv } from './charts.ts';
import { type Period, periodKinds, previousPeriod, resolvePeriod } from './period.ts';
import { loadReport, type ReportFilter } from './queries.ts';

const reportQuerySchema = z.object({
  period: queryText,
  from: queryText,
  to: queryText,
  customer: queryText,
  type: queryText,
  prio: queryText,
  resp: queryText,
  // the days the date fields showed when the page was made ("from_to"), to tell days typed there
  // from days left as they were when only the period list was changed
  shown: queryText,
});
type ReportQuery = z.output<typeof reportQuerySchema>;

type Chosen = { ok: true; period: Period; filter: ReportFilter; customerNumber: string } | { ok: false; error: string };

// Reports for every member of staff. An agent sees their own cases (responsible = me, the default)
// or the whole team's; only an administrator picks another person. Input is checked strictly: a
// report for a period or filter other than the one asked for would be misread.
export async function registerReportRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  const choose = async (request: FastifyRequest, q: ReportQuery): Promise<Chosen> => {
    const user = currentUser(request);
    const kind = periodKinds.find((k) => k === (q.period || 'this_month'));
    if (!kind) return { ok: false, error: 'reports.error.bad_period' };
    const today = todayIn(config.timeZone);
    let resolved = resolvePeriod(kind, today, { from: q.from, to: q.to });
    // The date fields show the chosen period's days; days changed there make a range of their own
    // (a form without JavaScript cannot switch the period list to "Dates below" by itself). Days
    // left as the page showed them follow the period list: "Last month" chosen there is last month.
    const untouched = q.shown !== undefined && q.shown === `${q.from ?? ''}_${q.to ?? ''}`;
    if (resolved.ok && kind !== 'custom' && (q.from || q.to) && !untouched) {
      const named = resolved.period;
      const from = q.from || named.from;
      const to = q.to || named.to;
      if (from !== named.from || to !== named.to) resolved = resolvePeriod('custom', today, { from, to });
    }
    if (!resolved.ok) return { ok: false, error: resolved.error };
    const id = (text: string | undefined) => (text ? parseId(text) : null);
    const type = id(q.type);
    const prio = id(q.prio);
    if ((q.type && !type) || (q.prio && !prio)) return { ok: false, error: 'reports.error.bad_filter' };
    let resp: ReportFilter['resp'];
    if (!q.resp || q.resp === 'me') resp = user.id;
    else if (q.resp === 'any') resp = 'any';
    else {
      const other = parseId(q.resp);
      if (!other) return { ok: false, error: 'reports.error.bad_filter' };
      if (other !== user.id && user.role !== 'admin') throw forbidden();
      resp = other;
    }
    let customer: number | null = null;
    const customerNumber = q.customer ?? '';
    if (customerNumber) {
      const found = await db
        .selectFrom('customers')
        .select('id')
        .where('number', '=', customerNumber.slice(0, 40))
        .executeTakeFirst();
      if (!found) return { ok: false, error: 'reports.error.no_customer' };
      customer = found.id;
    }
    return { ok: true, period: resolved.period, filter: { customer, type, prio, resp }, customerNumber };
  };

  app.get('/reports', async (request, reply) => {
    const q = parseQuery(reportQuerySchema, request.query);
    const [chosen, options] = await Promise.all([choose(request, q), loadCaseFormOptions(db, null)]);
    const base = { q, options, user: currentUser(request) };
    if (!chosen.ok) {
      return render(request, reply, { page: 'reports/index', status: 422 }, { ...base, error: chosen.error });
    }
    return renderReport(request, reply, chosen, base);
  });

  app.get<{ Params: { chart: string } }>('/reports/:chart', async (request, reply) => {
    const match = /^([a-z_]+)\.csv$/.exec(request.params.chart);
    const chart = chartIds.find((c) => c === match?.[1]);
    if (!chart) throw notFound();
    const q = parseQuery(reportQuerySchema, request.query);
    const chosen = await choose(request, q);
    if (!chosen.ok) {
      reply.code(422).type('text/plain; charset=utf-8');
      return request.t(chosen.error as Parameters<typeof request.t>[0]);
    }
    const report = await loadReport(db, chosen.period, previousPeriod(chosen.period), config.timeZone, chosen.filter);
    const table = chartTables(report, request.t as Translate)[chart as ChartId];
    const name = `${chart}-${chosen.period.from}-${chosen.period.to}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="${name}"`)
      .send(`\uFEFF${toCsv(table)}`);
  });

  async function renderReport(
    request: FastifyRequest,
    reply: FastifyReply,
    chosen: Extract<Chosen, { ok: true }>,
    base: Record<string, unknown>,
  ) {
    const { period, filter, customerNumber } = chosen;
    const previous = previousPeriod(period);
    const report = await loadReport(db, period, previous, config.timeZone, filter);
    const t = request.t as Translate;
    const link = (on: 'created' | 'closed', from: string, to: string) =>
      overviewLink(filter, customerNumber, on, from, to);
    const volume = barChart(
      report.buckets.map((b) => ({
        label: b.start === b.end ? b.start : `${b.start} – ${b.end}`,
        values: [
          { value: b.casesIn, href: link('created', b.start, b.end) },
          { value: b.casesClosed, href: link('closed', b.start, b.end) },
        ],
      })),
      [
        { name: t('reports.col.in'), className: 'series-in' },
        { name: t('reports.col.closed'), className: 'series-closed' },
      ],
    );
    const backlog = lineChart(report.buckets.map((b) => ({ label: b.end, value: b.backlog, href: null })));
    const query = new URLSearchParams(
      Object.entries({
        period: period.kind,
        from: period.kind === 'custom' ? period.from : '',
        to: period.kind === 'custom' ? period.to : '',
        customer: customerNumber,
        type: filter.type ? String(filter.type) : '',
        prio: filter.prio ? String(filter.prio) : '',
        resp: filter.resp === 'any' ? 'any' : filter.resp === currentUser(request).id ? '' : String(filter.resp),
      }).filter(([, v]) => v),
    ).toString();
    return render(
      request,
      reply,
      { page: 'reports/index' },
      {
        ...base,
        period,
        previous,
        filter,
        report,
        tables: chartTables(report, t),
        volume,
        backlog,
        csvQuery: query ? `?${query}` : '',
        // a customer's bar: their cases created in the period; a person's: their open cases now
        customerLinks: report.customers.map((c) =>
          c.number ? overviewLink(filter, c.number, 'created', period.from, period.to) : null,
        ),
        // a customer's bar by time: their cases closed in the period
        customerTimeLinks: report.customerTime.map((c) =>
          c.number ? overviewLink(filter, c.number, 'closed', period.from, period.to) : null,
        ),
        workloadLinks: report.workload.map((w) => (w.id ? `/cases?resp=${w.id}` : '/cases?resp=unassigned')),
      },
    );
  }
}

type Translate = (key: string, values?: Record<string, unknown>) => string;
