// A counter this process moves whenever it changes a case's status, responsible or due date, or
// adds a case: what the overview's tile counts depend on. Caches of those counts compare it to
// the value they were made at (src/cases/overview.ts, countTilesShared), so a user who changes a
// case sees the new counts at once, while a hundred agents refreshing the overview do not each
// count every open case again. Other instances' changes reach a cache when its entry expires.
let generation = 0;

export function noteCaseCountsChanged(): void {
  generation += 1;
}

export function caseCountsGeneration(): number {
  return generation;
}
