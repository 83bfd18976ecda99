import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closesParentLoop, decideNewLink, linkRoles, otherCaseOf, roleOf, storedLinkOf } from './rules.ts';

const test = suite('Links between cases: the rules');

test('a link is stored so that each case sees the other in the role it was given', () => {
  for (const role of linkRoles) {
    const link = storedLinkOf(1, 2, role);
    assert.is(roleOf(link, 1), role, `seen from case 1: ${role}`);
    assert.is(otherCaseOf(link, 1), 2);
    assert.is(otherCaseOf(link, 2), 1);
  }
  assert.is(roleOf(storedLinkOf(1, 2, 'parent'), 2), 'child', 'case 1 is the child of 2, so 2 sees 1 as its child');
  assert.is(roleOf(storedLinkOf(1, 2, 'child'), 2), 'parent');
  assert.is(roleOf(storedLinkOf(1, 2, 'related'), 2), 'related', 'related is symmetric');
  assert.equal(storedLinkOf(1, 2, 'parent'), { kind: 'parent', from_case_id: 2, to_case_id: 1 });
  assert.equal(storedLinkOf(1, 2, 'child'), { kind: 'parent', from_case_id: 1, to_case_id: 2 });
});

test('a case is never linked to itself, whatever the role', () => {
  for (const role of linkRoles) {
    assert.equal(decideNewLink({ caseId: 5, otherId: 5, role, pairLinked: false, edges: [] }), {
      ok: false,
      reason: 'self',
    });
  }
});

test('a pair already linked, either way round and of any kind, is not linked again', () => {
  for (const role of linkRoles) {
    assert.equal(decideNewLink({ caseId: 1, otherId: 2, role, pairLinked: true, edges: [] }), {
      ok: false,
      reason: 'duplicate',
    });
  }
});

test('a parent link that would make a case its own ancestor is refused', () => {
  // 1 → 2 → 3 (parent → child)
  const edges = [
    { parent: 1, child: 2 },
    { parent: 2, child: 3 },
  ];
  assert.ok(closesParentLoop(3, 1, edges), '3 as parent of 1 closes 1 → 2 → 3 → 1');
  assert.ok(closesParentLoop(2, 1, edges));
  assert.ok(closesParentLoop(4, 4, []), 'a case as its own parent');
  assert.not.ok(closesParentLoop(1, 3, edges), 'a second way down is no loop');
  assert.not.ok(closesParentLoop(4, 1, edges));
  // on case 1, naming case 3 as its parent
  assert.equal(decideNewLink({ caseId: 1, otherId: 3, role: 'parent', pairLinked: false, edges }), {
    ok: false,
    reason: 'cycle',
  });
  // on case 3, naming case 1 as its child
  assert.equal(decideNewLink({ caseId: 3, otherId: 1, role: 'child', pairLinked: false, edges }), {
    ok: false,
    reason: 'cycle',
  });
  // related links take no part in the parent tree
  assert.ok(decideNewLink({ caseId: 3, otherId: 1, role: 'related', pairLinked: false, edges }).ok);
});

test('a loop check over a tangled tree ends, and a diamond is no loop', () => {
  const edges = [
    { parent: 1, child: 2 },
    { parent: 1, child: 3 },
    { parent: 2, child: 4 },
    { parent: 3, child: 4 },
  ];
  assert.not.ok(closesParentLoop(5, 1, edges));
  assert.ok(closesParentLoop(4, 1, edges));
  assert.equal(decideNewLink({ caseId: 4, otherId: 5, role: 'child', pairLinked: false, edges: [] }), {
    ok: true,
    link: { kind: 'parent', from_case_id: 4, to_case_id: 5 },
  });
});

test.run();
