import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCaseNumber } from './number-series.ts';

const test = suite('Case numbers from a number series');

test('the number is zero-padded to the digits after the prefix', () => {
  assert.is(formatCaseNumber('2026-', 42, 5), '2026-00042');
  assert.is(formatCaseNumber('', 7, 1), '7');
  assert.is(formatCaseNumber('K', 1, 12), 'K000000000001');
});

test('a number longer than its digits is written in full, never cut', () => {
  assert.is(formatCaseNumber('2026-', 123456, 5), '2026-123456');
});

test('numbers below 1, fractions and digits outside 1–12 are refused', () => {
  assert.throws(() => formatCaseNumber('A', 0, 5), RangeError);
  assert.throws(() => formatCaseNumber('A', -3, 5), RangeError);
  assert.throws(() => formatCaseNumber('A', 1.5, 5), RangeError);
  assert.throws(() => formatCaseNumber('A', 1, 0), RangeError);
  assert.throws(() => formatCaseNumber('A', 1, 13), RangeError);
});

test.run();
