// Which policies can never take a case: the first active policy whose conditions match wins
// (queries.ts findSlaPolicy), so a policy below one whose conditions are each empty or the same
// as its own is never reached. The list warns on them (Administration → Service levels). Pure:
// no imports, so the rule is tested on its own.

export type PolicyConditions = {
  id: number;
  name: string;
  active: boolean;
  customer_id: number | null;
  priority_id: number | null;
  case_type_id: number | null;
};

const conditions = ['customer_id', 'priority_id', 'case_type_id'] as const;

// `above` matches every case `below` matches: each condition `above` sets, `below` sets the same.
// A condition empty in `above` matches anything; one set in `above` and empty in `below` leaves
// cases `below` takes that `above` does not (the other values), so it does not cover.
export function covers(above: PolicyConditions, below: PolicyConditions): boolean {
  return conditions.every((field) => above[field] === null || above[field] === below[field]);
}

/**
 * For each policy that can never match, the first policy above it that takes all its cases;
 * policies in the order they are tried. An inactive policy above matches nothing, so it hides
 * nothing; an inactive one below is warned on too, as it would not be used if switched on.
 */
export function neverUsedPolicies<P extends PolicyConditions>(ordered: readonly P[]): Map<number, P> {
  const hidden = new Map<number, P>();
  ordered.forEach((policy, i) => {
    const above = ordered.slice(0, i).find((earlier) => earlier.active && covers(earlier, policy));
    if (above) hidden.set(policy.id, above);
  });
  return hidden;
}
