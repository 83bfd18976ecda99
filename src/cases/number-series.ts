// A case number is the series' prefix followed by the number, zero-padded to the series' digits.
// A number that has outgrown its digits is written in full, never cut: numbers must stay unique.
export function formatCaseNumber(prefix: string, number: number, digits: number): string {
  if (!Number.isSafeInteger(number) || number < 1) throw new RangeError(`Case number must be 1 or more: ${number}`);
  if (!Number.isInteger(digits) || digits < 1 || digits > 12) throw new RangeError(`Digits must be 1–12: ${digits}`);
  return `${prefix}${String(number).padStart(digits, '0')}`;
}
