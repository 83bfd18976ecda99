import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results');

// A plain text table: the first row is the header, numbers align right.
export function formatTable(rows: (string | number)[][]): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = text[0]?.map((_, i) => Math.max(...text.map((row) => row[i]?.length ?? 0))) ?? [];
  const line = (row: string[], r: number) =>
    row
      .map((cell, i) =>
        typeof rows[r]?.[i] === 'number' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const [header, ...body] = text;
  if (!header) return '';
  return [line(header, 0), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map((row, r) => line(row, r + 1))].join(
    '\n',
  );
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// bench/results/[<kind>-]<timestamp>.json: kept next to the code (not ignored), to compare runs
// over time; the overview bench writes no kind, the subcommands their name (outbox-…, mail-…).
export async function writeResults(results: object, at = new Date(), kind = ''): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${kind ? `${kind}-` : ''}${at.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

// A database URL fit to print: the password, if any, as ***.
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

// The value below which a share p (0…1) of the sorted values lie.
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

// Where and under what load a run happened: other work on the machine skews every number.
export function machineInfo() {
  return {
    cpus: os.cpus().length,
    memoryGb: round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: os.loadavg().map((n) => round(n, 2)),
  };
}
