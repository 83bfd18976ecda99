import { sql, type Transaction } from 'kysely';
import { formatCaseNumber } from '../cases/number-series.ts';
import type { Database, NumberSeriesPurpose } from '../db/schema.ts';
import { FormError } from '../forms/form.ts';

// The next number of the first active series for `purpose`, as cases take theirs: the UPDATE
// locks the series row until the creating transaction ends, so concurrent creators queue and a
// rolled-back creation leaves no gap.
export async function allocateNumber(trx: Transaction<Database>, purpose: NumberSeriesPurpose): Promise<string> {
  const row = await sql<{ prefix: string; number: number; digits: number }>`
    update number_series set next_number = next_number + 1
    where id = (select id from number_series where active and purpose = ${purpose} order by id limit 1)
    returning prefix, next_number - 1 as number, digits`
    .execute(trx)
    .then((r) => r.rows[0]);
  // Shown on the form: an administrator can add the series, and nothing typed is lost meanwhile.
  if (!row) throw new FormError({ _form: 'errors.no_number_series' });
  return formatCaseNumber(row.prefix, row.number, row.digits);
}
