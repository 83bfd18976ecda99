import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { covers, neverUsedPolicies, type PolicyConditions } from './shadowing.ts';

const test = suite('Policies that can never match');

let nextId = 1;
function policy(name: string, set: Partial<PolicyConditions> = {}): PolicyConditions {
  return { id: nextId++, name, active: true, customer_id: null, priority_id: null, case_type_id: null, ...set };
}
const names = (ordered: PolicyConditions[]) =>
  Object.fromEntries(
    [...neverUsedPolicies(ordered)].map(([id, above]) => [ordered.find((p) => p.id === id)?.name, above.name]),
  );

test('a policy without conditions hides every policy below it', () => {
  const all = policy('Alla');
  assert.equal(names([all, policy('Acme', { customer_id: 1 }), policy('Hög', { priority_id: 2 })]), {
    Acme: 'Alla',
    Hög: 'Alla',
  });
});

test('one whose conditions are a subset of a later one hides it; one with more conditions does not', () => {
  const acme = policy('Acme', { customer_id: 1 });
  const acmeHigh = policy('Acme hög', { customer_id: 1, priority_id: 2 });
  assert.equal(names([acme, acmeHigh]), { 'Acme hög': 'Acme' });
  // the other way round both are used: the specific one first, the rest of Acme's cases after
  assert.equal(names([acmeHigh, acme]), {});
});

test('a different value, or a condition the later one leaves empty, leaves cases for the later one', () => {
  assert.equal(names([policy('Acme', { customer_id: 1 }), policy('Bolaget', { customer_id: 2 })]), {});
  assert.equal(names([policy('Hög', { priority_id: 2 }), policy('Alla')]), {});
  assert.equal(names([policy('Hög', { priority_id: 2 }), policy('Fel', { case_type_id: 3 })]), {});
});

test('the same conditions twice: the second is never used, and names the first', () => {
  const first = policy('Först', { case_type_id: 3 });
  assert.equal(names([first, policy('Sedan', { case_type_id: 3 }), policy('Sist', { case_type_id: 3 })]), {
    Sedan: 'Först',
    Sist: 'Först',
  });
});

test('an inactive policy above hides nothing; an inactive one below is still warned on', () => {
  assert.equal(names([policy('Av', { active: false }), policy('Acme', { customer_id: 1 })]), {});
  assert.equal(names([policy('Alla'), policy('Vilande', { active: false, priority_id: 2 })]), { Vilande: 'Alla' });
  // the first active cover is named, not an inactive one above it
  assert.equal(names([policy('Av', { active: false }), policy('Alla'), policy('X', { customer_id: 5 })]), {
    X: 'Alla',
  });
});

test('covers is per condition', () => {
  assert.ok(covers(policy('a'), policy('b', { customer_id: 1, priority_id: 2, case_type_id: 3 })));
  assert.not.ok(covers(policy('a', { customer_id: 1 }), policy('b')));
});

test.run();
