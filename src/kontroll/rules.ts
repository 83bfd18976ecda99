import type { StatusKind } from '../db/schema.ts';

// What Kontroll does to one case. Pure: the table behind every run, preview and re-check.
//   not waiting, or a type left out      → none
//   waiting ≥ close days (closing on)    → close (whether or not a reminder went out)
//   waiting ≥ remind days (reminders on) → remind, once per waiting period
//   otherwise                            → none
export type KontrollAction = 'remind' | 'close' | 'none';

export type KontrollFacts = {
  statusKind: StatusKind;
  // start of the current waiting period (last reply to the customer, or the switch to waiting)
  waitingSince: Date | null;
  caseTypeId: number;
  // a reminder already went out in this waiting period
  remindedThisPeriod: boolean;
};

export type KontrollRules = {
  remind: { enabled: boolean; days: number };
  close: { enabled: boolean; days: number };
  // null: every type
  caseTypeIds: number[] | null;
};

const dayMs = 24 * 60 * 60 * 1000;

export function decideKontroll(facts: KontrollFacts, rules: KontrollRules, now: Date): KontrollAction {
  if (facts.statusKind !== 'waiting' || !facts.waitingSince) return 'none';
  if (rules.caseTypeIds && !rules.caseTypeIds.includes(facts.caseTypeId)) return 'none';
  const waited = now.getTime() - facts.waitingSince.getTime();
  if (rules.close.enabled && waited >= rules.close.days * dayMs) return 'close';
  if (rules.remind.enabled && !facts.remindedThisPeriod && waited >= rules.remind.days * dayMs) return 'remind';
  return 'none';
}

// The earliest waiting start that can still lead to an action at `now`: the candidates' bound.
export function kontrollThreshold(rules: KontrollRules, now: Date): Date | null {
  const days = [rules.remind, rules.close].filter((r) => r.enabled).map((r) => r.days);
  if (!days.length) return null;
  return new Date(now.getTime() - Math.min(...days) * dayMs);
}

// Whole days waited, for the {days} placeholder.
export function daysWaited(waitingSince: Date, now: Date): number {
  return Math.floor((now.getTime() - waitingSince.getTime()) / dayMs);
}

export const kontrollPlaceholders = ['case_number', 'title', 'contact_name', 'responsible_name', 'days'] as const;
export type KontrollPlaceholder = (typeof kontrollPlaceholders)[number];

// The {names} in a text that Kontroll does not know (shown as a form error).
export function unknownPlaceholders(text: string): string[] {
  const known: readonly string[] = kontrollPlaceholders;
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).filter((name) => !known.includes(name));
}

export function fillPlaceholders(text: string, values: Record<KontrollPlaceholder, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? values[name as KontrollPlaceholder] : whole,
  );
}
