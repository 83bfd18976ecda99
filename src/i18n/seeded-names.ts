import type { Language } from '../db/schema.ts';

// The registers' first rows (statuses, case types, priorities, number series, document categories) are created
// in Swedish by the migrations. An English reader sees a row that still carries its seeded
// Swedish name in English; a row an administrator renamed or added shows as it is named.
const english: Readonly<Record<string, string>> = {
  Öppen: 'Open',
  'Väntar på kund': 'Waiting for customer',
  'Till uppdrag': 'To work order',
  Stängd: 'Closed',
  Fråga: 'Question',
  Reklamation: 'Complaint',
  Dokumentattest: 'Document approval',
  Hög: 'High',
  Låg: 'Low',
  Allmänt: 'General',
  Ärenden: 'Cases',
  Projekt: 'Projects',
  Arbetsordrar: 'Work orders',
};

export function seededName(name: string, lang: Language): string {
  return lang === 'en' ? (english[name] ?? name) : name;
}
