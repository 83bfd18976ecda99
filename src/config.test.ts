import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig } from './config.ts';

const test = suite('Configuration');

const trustProxy = (value: string) => loadConfig({ TRUST_PROXY: value }).trustProxy;

test('TRUST_PROXY is off by default and with false', () => {
  assert.is(loadConfig({}).trustProxy, false);
  assert.is(trustProxy('false'), false);
  assert.is(trustProxy('0'), false);
});

test('TRUST_PROXY takes a hop count or a list of proxy addresses and CIDRs', () => {
  assert.equal(trustProxy('1'), { hops: 1 });
  assert.equal(trustProxy('2'), { hops: 2 });
  assert.equal(trustProxy('10.0.0.5, 10.1.0.0/16,fd00::/8, loopback'), {
    addresses: ['10.0.0.5', '10.1.0.0/16', 'fd00::/8', 'loopback'],
  });
});

function refusal(value: string): string {
  try {
    trustProxy(value);
  } catch (error) {
    assert.instance(error, ConfigError, value);
    return (error as Error).message;
  }
  assert.unreachable(`TRUST_PROXY=${value} was accepted`);
  return '';
}

test('TRUST_PROXY refuses to trust every hop, and says what to give instead', () => {
  assert.match(refusal('true'), /TRUST_PROXY: true would trust every hop.*number of proxies/);
  for (const value of ['0.0.0.0/0', '::/0', '10.0.0.0/33', 'proxy.example.com', '1.5', '-1', '10.0.0.5,']) {
    assert.match(refusal(value), 'TRUST_PROXY: must be false, the number of proxies', value);
  }
});

test.run();
