import { IntlMessageFormat } from 'intl-messageformat';
import type { Language } from '../db/schema.ts';
import { en, type MessageKey } from './en.ts';
import { sv } from './sv.ts';

export const catalogues: Record<Language, Record<MessageKey, string>> = { sv, en };
export const languages: Language[] = ['sv', 'en'];

export type Translate = (key: string, params?: Record<string, string | number>) => string;

const translators = new Map<Language, Translate>();

export function translator(language: Language): Translate {
  const cached = translators.get(language);
  if (cached) return cached;
  const catalogue = catalogues[language];
  const plurals = new Map<string, IntlMessageFormat>();
  const translate: Translate = (key, params) => {
    // Unknown keys show as themselves so a missing text is visible, never blank.
    let text: string = key in catalogue ? catalogue[key as MessageKey] : key;
    // A text that says "{count, plural, one {# dag} other {# dagar}}" is ICU MessageFormat: the
    // language's own plural rules (Intl.PluralRules) pick the form. Only those texts go through
    // the formatter, so a plain text's apostrophes and angle brackets stay as written.
    if (params && text.includes(', plural,')) {
      let format = plurals.get(key);
      if (!format) {
        format = new IntlMessageFormat(text, language, undefined, { ignoreTag: true });
        plurals.set(key, format);
      }
      return String(format.format(params));
    }
    if (params) for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
    return text;
  };
  translators.set(language, translate);
  return translate;
}

// The first supported language in an Accept-Language header, by quality.
export function languageFromHeader(header: string | undefined): Language | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.find((p) => p.trim().startsWith('q='));
      return { tag: tag.trim().toLowerCase().slice(0, 2), q: q ? Number(q.trim().slice(2)) : 1 };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q);
  return (ranked.find((entry) => languages.includes(entry.tag as Language))?.tag as Language | undefined) ?? null;
}

export type Formatters = {
  dateTime: (value: Date | string | null | undefined) => string;
  date: (value: Date | string | null | undefined) => string;
  // with the month's name ("7 dec. 2026 16:30"), for running text such as a mail's
  dateTimeInText: (value: Date | string | null | undefined) => string;
};

const formatterCache = new Map<string, Formatters>();

// Intl formatters are costly to build, so each language and time zone gets one set, reused.
export function formatters(language: Language, timeZone: string): Formatters {
  const key = `${language}|${timeZone}`;
  const cached = formatterCache.get(key);
  if (cached) return cached;
  const built = buildFormatters(language, timeZone);
  formatterCache.set(key, built);
  return built;
}

function buildFormatters(language: Language, timeZone: string): Formatters {
  const locale = language === 'sv' ? 'sv-SE' : 'en-GB';
  const dateTime = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'short', timeStyle: 'short' });
  const date = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'short' });
  const inText = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'medium', timeStyle: 'short' });
  const wrap = (f: Intl.DateTimeFormat) => (value: Date | string | null | undefined) =>
    value ? f.format(typeof value === 'string' ? new Date(value) : value) : '';
  return { dateTime: wrap(dateTime), date: wrap(date), dateTimeInText: wrap(inText) };
}

// Today's date (YYYY-MM-DD) in the configured time zone.
// Building an Intl.DateTimeFormat costs more than formatting with it; pages ask for today often.
const dayFormats = new Map<string, Intl.DateTimeFormat>();

export function todayIn(timeZone: string, now = new Date()): string {
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, format);
  }
  return format.format(now);
}
