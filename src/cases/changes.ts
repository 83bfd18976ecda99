// who made the change: a person ({ id }) or the system (null), as the case lifecycle names it
type Actor = { id: number } | null;

// A counter this process moves whenever a person changes a case's status, responsible or due
// date, or adds a case: what the overview's tile counts depend on. Caches of those counts compare
// it to the value they were made at (src/cases/overview.ts, countTilesShared), so someone who
// changes a case sees the new counts at once, while a hundred agents refreshing the overview do
// not each count every open case again. The system's own changes (Kontroll's batches, mail
// ingest) and other instances' reach a cache when its entry expires, within two seconds: moving
// the counter for each of Kontroll's batches would have every refresh count again during a run.
let generation = 0;

export function noteCaseCountsChanged(actor: Actor): void {
  if (actor) generation += 1;
}

export function caseCountsGeneration(): number {
  return generation;
}
