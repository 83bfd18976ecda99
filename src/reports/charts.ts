import type { Period } from './period.ts';
import type { Report, ReportFilter } from './queries.ts';

// The reports' charts as data: one table per chart (what the page's "Show as table" and the CSV
// download show, so they cannot disagree) and the geometry of its server-rendered SVG. SVG made
// here and drawn by Eta needs no chart library in the browser and prints as it shows.

export const chartIds = [
  'volume',
  'backlog',
  'times',
  'sla',
  'channels',
  'customers',
  'customer_time',
  'workload',
  'kontroll',
] as const;
export type ChartId = (typeof chartIds)[number];

type Translate = (key: string, values?: Record<string, unknown>) => string;
export type Cell = string | number | null;
export type ChartTable = { id: ChartId; title: string; columns: string[]; rows: Cell[][] };

export type Bar = { x: number; y: number; width: number; height: number; label: string; href: string | null };
export type BarSeries = { name: string; className: string; bars: Bar[] };
export type BarChart = {
  width: number;
  height: number;
  max: number;
  series: BarSeries[];
  ticks: { x: number; label: string }[];
};

const width = 640;
const height = 180;
const top = 10;

// Links to the overview showing the cases behind a figure.
export function overviewLink(
  filter: ReportFilter,
  customerNumber: string,
  on: 'created' | 'closed',
  from: string,
  to: string,
): string {
  const params = new URLSearchParams();
  params.set('resp', filter.resp === 'any' ? 'any' : String(filter.resp));
  params.set('kind', on === 'closed' ? 'closed' : 'all');
  if (filter.type) params.set('type', String(filter.type));
  if (filter.prio) params.set('prio', String(filter.prio));
  if (customerNumber) params.set('customer', customerNumber);
  params.set(on === 'closed' ? 'closed_in' : 'created_in', `${from}..${to}`);
  return `/cases?${params.toString()}`;
}

// Grouped bars, one group per row, one bar per series.
export function barChart(
  groups: { label: string; values: { value: number; href: string | null }[] }[],
  series: { name: string; className: string }[],
): BarChart {
  const max = Math.max(1, ...groups.flatMap((g) => g.values.map((v) => v.value)));
  const slot = width / Math.max(1, groups.length);
  const barWidth = Math.max(1, (slot * 0.8) / series.length);
  const every = Math.ceil(groups.length / 12);
  return {
    width,
    height,
    max,
    series: series.map((s, si) => ({
      ...s,
      bars: groups.map((g, gi) => {
        const v = g.values[si] ?? { value: 0, href: null };
        const h = ((height - top) * v.value) / max;
        return {
          x: gi * slot + slot * 0.1 + si * barWidth,
          y: height - h,
          width: barWidth,
          height: h,
          label: `${g.label}: ${s.name} ${v.value}`,
          href: v.href,
        };
      }),
    })),
    ticks: groups.flatMap((g, gi) => (gi % every === 0 ? [{ x: gi * slot + slot / 2, label: g.label }] : [])),
  };
}

export type LineChart = { width: number; height: number; max: number; points: string; dots: Bar[] };

export function lineChart(values: { label: string; value: number; href: string | null }[]): LineChart {
  const max = Math.max(1, ...values.map((v) => v.value));
  const slot = width / Math.max(1, values.length);
  const dots = values.map((v, i) => {
    const x = i * slot + slot / 2;
    const y = height - ((height - top) * v.value) / max;
    return { x, y, width: 0, height: 0, label: `${v.label}: ${v.value}`, href: v.href };
  });
  return { width, height, max, points: dots.map((d) => `${d.x.toFixed(1)},${d.y.toFixed(1)}`).join(' '), dots };
}

// Every chart's table, in the user's language.
export function chartTables(report: Report, t: Translate): Record<ChartId, ChartTable> {
  const s = report.summary;
  const p = report.previous;
  return {
    volume: {
      id: 'volume',
      title: t('reports.chart.volume'),
      columns: [t('reports.col.from'), t('reports.col.to'), t('reports.col.in'), t('reports.col.closed')],
      rows: report.buckets.map((b) => [b.start, b.end, b.casesIn, b.casesClosed]),
    },
    backlog: {
      id: 'backlog',
      title: t('reports.chart.backlog'),
      columns: [t('reports.col.day'), t('reports.col.backlog')],
      rows: report.buckets.map((b) => [b.end, b.backlog]),
    },
    times: {
      id: 'times',
      title: t('reports.chart.times'),
      columns: [t('reports.col.measure'), t('reports.col.period'), t('reports.col.previous')],
      rows: [
        [t('reports.figure.first_response_median'), s.firstResponseMedian, p.firstResponseMedian],
        [t('reports.figure.first_response_p90'), s.firstResponseP90, p.firstResponseP90],
        [t('reports.figure.resolution_median'), s.resolutionMedian, p.resolutionMedian],
        [t('reports.figure.resolution_p90'), s.resolutionP90, p.resolutionP90],
        [
          t('reports.figure.first_response_business_median'),
          s.firstResponseBusinessMedian,
          p.firstResponseBusinessMedian,
        ],
        [t('reports.figure.first_response_business_p90'), s.firstResponseBusinessP90, p.firstResponseBusinessP90],
        [t('reports.figure.resolution_business_median'), s.resolutionBusinessMedian, p.resolutionBusinessMedian],
        [t('reports.figure.resolution_business_p90'), s.resolutionBusinessP90, p.resolutionBusinessP90],
      ],
    },
    sla: {
      id: 'sla',
      title: t('reports.chart.sla'),
      columns: [t('reports.col.measure'), t('reports.col.period'), t('reports.col.previous')],
      rows: [
        [t('reports.sla.with'), s.withSla, p.withSla],
        [t('reports.sla.met'), s.withSla - s.slaBreached, p.withSla - p.slaBreached],
        [t('reports.sla.breached'), s.slaBreached, p.slaBreached],
        [t('reports.sla.met_percent'), slaMetPercent(s), slaMetPercent(p)],
      ],
    },
    channels: {
      id: 'channels',
      title: t('reports.chart.channels'),
      columns: [t('reports.col.channel'), t('reports.col.in')],
      rows: report.channels.map((c) => [t(`reports.channel.${c.name}`), c.count]),
    },
    customers: {
      id: 'customers',
      title: t('reports.chart.customers'),
      columns: [t('reports.col.customer'), t('reports.col.in')],
      rows: report.customers.map((c) => [c.name || t('reports.no_customer'), c.count]),
    },
    customer_time: {
      id: 'customer_time',
      title: t('reports.chart.customer_time'),
      columns: [t('reports.col.customer'), t('reports.col.hours'), t('reports.col.closed')],
      rows: report.customerTime.map((c) => [c.name || t('reports.no_customer'), c.hours, c.cases]),
    },
    workload: {
      id: 'workload',
      title: t('reports.chart.workload'),
      columns: [t('reports.col.responsible'), t('reports.col.open_now'), t('reports.col.closed')],
      rows: report.workload.map((w) => [w.name || t('reports.nobody'), w.open, w.closed]),
    },
    kontroll: {
      id: 'kontroll',
      title: t('reports.chart.kontroll'),
      columns: [t('reports.col.measure'), t('reports.col.cases')],
      rows: [
        [t('reports.kontroll.reminded'), report.kontroll.reminded],
        [t('reports.kontroll.answered'), report.kontroll.answered],
        [t('reports.kontroll.closed_without_answer'), report.kontroll.closedWithoutAnswer],
      ],
    },
  };
}

// The share of the cases under a service level that met every deadline, in whole percent.
export const slaMetPercent = (s: { withSla: number; slaBreached: number }) =>
  s.withSla ? Math.round((100 * (s.withSla - s.slaBreached)) / s.withSla) : null;

// A CSV cell: quoted when it holds a separator, quote or line break, and a text that a spreadsheet
// would run as a formula (= + - @, tab, carriage return first) prefixed with ' so it stays text.
export function csvCell(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return String(cell);
  let text = cell;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",;\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(table: ChartTable): string {
  return [table.columns, ...table.rows]
    .map((row) => row.map(csvCell).join(','))
    .join('\r\n')
    .concat('\r\n');
}

export const periodLabel = (period: Period) => `${period.from} – ${period.to}`;
