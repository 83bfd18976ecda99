import { z } from 'zod';
import type { SystemText, SystemTextLine } from '../db/schema.ts';
import type { Translate } from '../i18n/i18n.ts';
import { escapeHtml } from '../rich-text/escape.ts';

// System entries (the approval chain's "X sent Y for approval", …) are stored as message keys
// with their parameters and written out in the language of whoever reads the thread (issue 15,
// item 10). The same writer renders them once in the writer's language into body_html, for
// whatever reads only HTML.

const lineSchema = z.object({
  key: z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/),
  params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  // the app's own pages only: a path, never another site (nor //host)
  href: z
    .string()
    .regex(/^\/(?![/\\])/)
    .optional(),
});
const systemTextSchema = z.object({ kind: z.string(), lines: z.array(lineSchema).min(1) });

// The stored column as a system text, or null (none, or not one this code can show: the entry's
// body_html is shown then, as for entries written before the column existed).
export function readSystemText(value: unknown): SystemText | null {
  if (value === null || value === undefined) return null;
  const parsed = systemTextSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function systemText(kind: string, lines: SystemTextLine[]): SystemText {
  return { kind, lines };
}

// One paragraph per line; a parameter's line breaks (an approver's comment) stay line breaks.
export function systemTextHtml(text: SystemText, t: Translate): string {
  return text.lines
    .map((line) => {
      const words = escapeHtml(t(line.key, line.params)).replace(/\n/g, '<br>');
      return line.href ? `<p><a href="${escapeHtml(line.href)}">${words}</a></p>` : `<p>${words}</p>`;
    })
    .join('\n');
}
