import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { percentilesOf } from './percentiles.ts';

// The reference: percentile_cont over the values written out one by one.
function reference(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = p * (sorted.length - 1);
  const low = sorted[Math.floor(position)] as number;
  const high = sorted[Math.ceil(position)] as number;
  return low + (position - Math.floor(position)) * (high - low);
}

test('no values: no percentiles', () => {
  assert.equal(percentilesOf([], [0.5, 0.9]), [null, null]);
  assert.equal(percentilesOf([{ value: 4, n: 0 }], [0.5]), [null]);
});

test('one value: every percentile is that value', () => {
  assert.equal(percentilesOf([{ value: 25, n: 3 }], [0, 0.5, 0.9, 1]), [25, 25, 25, 25]);
});

test('the median of two values lies halfway; the 90th percentile of 1 and 4 is 3.7', () => {
  const [median, p90] = percentilesOf(
    [
      { value: 40, n: 1 },
      { value: 10, n: 1 },
    ],
    [0.5, 0.9],
  );
  assert.is(median, 25);
  assert.ok(Math.abs((p90 as number) - 37) < 1e-9);
});

test('counts in any order give what percentile_cont gives over the values written out', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let round = 0; round < 200; round++) {
    const counts = new Map<number, number>();
    const distinct = 1 + Math.floor(random() * 30);
    for (let i = 0; i < distinct; i++) counts.set(Math.floor(random() * 500) - 20, 1 + Math.floor(random() * 9));
    const values = [...counts].flatMap(([value, n]) => Array.from({ length: n }, () => value));
    const list = [...counts].map(([value, n]) => ({ value, n })).reverse();
    for (const p of [0, 0.1, 0.5, 0.9, 1]) {
      const [got] = percentilesOf(list, [p]);
      assert.ok(Math.abs((got as number) - reference(values, p)) < 1e-9, `p ${p} of ${values.join(',')}`);
    }
  }
});

test.run();
