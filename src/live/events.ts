// What the live channel says (migration 20261205_0200_live_notify), read from its JSON: which
// cases changed, whose bells, or that anything may have (the listening connection was lost, or a
// statement wrote too many cases to name). Pure: the stream and the tests read it alike.
export type LiveEvent =
  | { kind: 'cases'; ids: number[]; versions?: number[] }
  | { kind: 'bell'; userIds: number[] }
  | { kind: 'resync' };

const ids = (value: unknown): number[] | null =>
  Array.isArray(value) && value.every((v) => Number.isSafeInteger(v)) ? (value as number[]) : null;

export function parseLivePayload(payload: string): LiveEvent | null {
  if (payload === '*') return { kind: 'resync' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object') return null;
  const message = parsed as { c?: unknown; v?: unknown; u?: unknown; all?: unknown };
  if (message.all === true) return { kind: 'resync' };
  const cases = ids(message.c);
  const versions = ids(message.v);
  if (cases)
    return versions?.length === cases.length ? { kind: 'cases', ids: cases, versions } : { kind: 'cases', ids: cases };
  const users = ids(message.u);
  if (users) return { kind: 'bell', userIds: users };
  return null;
}
