// When a failed delivery is tried again: after 1, 2, 4 … minutes, at most an hour apart, until
// 24 hours after the event (give_up_at). Pure.

export const retryForHours = 24;

export function retryDelayMs(attemptsSoFar: number): number {
  const minutes = Math.min(60, 2 ** Math.max(0, attemptsSoFar - 1));
  return minutes * 60_000;
}
