// Percentiles from counts of values (value → how many cases had it), as PostgreSQL's
// percentile_cont computes them over the values themselves: the value at rank p·(N−1) of the
// sorted values, interpolated between its two neighbours. The reports count times in tenths of an
// hour (report_tenths, migration 20261205_0700), so a year's counts are a few thousand pairs, read
// from monthly rollups, instead of a sort of every case. Pure, so the rule is tested on its own.

export type ValueCount = { value: number; n: number };

export function percentilesOf(counts: ValueCount[], fractions: number[]): (number | null)[] {
  const sorted = counts.filter((c) => c.n > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, c) => sum + c.n, 0);
  if (total === 0) return fractions.map(() => null);
  // the value at a 0-based rank
  const at = (rank: number) => {
    let seen = 0;
    for (const c of sorted) {
      seen += c.n;
      if (rank < seen) return c.value;
    }
    return (sorted[sorted.length - 1] as ValueCount).value;
  };
  return fractions.map((p) => {
    const position = p * (total - 1);
    const below = Math.floor(position);
    const low = at(below);
    const high = at(Math.ceil(position));
    return low + (position - below) * (high - low);
  });
}
