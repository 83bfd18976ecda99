import { mkdir, writeFile } from 'node:fs/promises';
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

// bench/results/<timestamp>.json: kept next to the code (not ignored), to compare runs over time.
export async function writeResults(results: object, at = new Date()): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${at.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
