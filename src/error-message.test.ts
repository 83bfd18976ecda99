import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorMessage } from './error-message.ts';

test('an error says its message, and its cause when it has one', () => {
  assert.is(errorMessage(new Error('disk full')), 'disk full');
  assert.is(errorMessage(new Error('could not save', { cause: new Error('disk full') })), 'could not save (disk full)');
});

test('a connection refused on every address says so for each, not an empty message', () => {
  const refused = (address: string) =>
    Object.assign(new Error(`connect ECONNREFUSED ${address}:54329`), { code: 'ECONNREFUSED' });
  const error = new AggregateError([refused('::1'), refused('127.0.0.1')]);
  assert.is(errorMessage(error), 'connect ECONNREFUSED ::1:54329; connect ECONNREFUSED 127.0.0.1:54329');
});

test('odd rejections never read "undefined" or nothing', () => {
  for (const odd of [undefined, null, '', new Error('')]) {
    const said = errorMessage(odd);
    assert.ok(said.trim().length > 0, `something is said for ${String(odd)}`);
    assert.not.match(said, /undefined|null/);
  }
  assert.is(errorMessage('port in use'), 'port in use');
  assert.is(errorMessage({ code: 'EACCES' }), "{ code: 'EACCES' }");
  assert.is(errorMessage(Object.assign(new Error(''), { code: 'ECONNRESET' })), 'ECONNRESET');
});

test.run();
