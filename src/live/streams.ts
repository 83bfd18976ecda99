import type { ServerResponse } from 'node:http';
import type { LiveEvent } from './events.ts';

// The open event streams of this process, by user (src/live/routes.ts). Each event goes to the
// streams that should hear it as one Server-Sent Event whose id is the time it was sent: a
// browser that reconnects sends it back (Last-Event-ID) and is told what changed since.
export const streamsPerUser = 10;
const heartbeatMs = 25_000;

export class LiveStreams {
  private readonly byUser = new Map<number, Set<ServerResponse>>();
  private heartbeat: NodeJS.Timeout | null = null;

  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  // false: the user has as many open as one may (a runaway tab), and another is refused
  hasRoom(userId: number): boolean {
    return (this.byUser.get(userId)?.size ?? 0) < streamsPerUser;
  }

  add(userId: number, res: ServerResponse): void {
    const set = this.byUser.get(userId) ?? new Set();
    set.add(res);
    this.byUser.set(userId, set);
    // a comment now and then keeps proxies and the browser from taking a quiet stream for dead
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.writeAll(': ping\n\n'), heartbeatMs);
      this.heartbeat.unref();
    }
  }

  remove(userId: number, res: ServerResponse): void {
    const set = this.byUser.get(userId);
    set?.delete(res);
    if (set && !set.size) this.byUser.delete(userId);
    if (!this.byUser.size && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  dispatch(event: LiveEvent): void {
    if (event.kind === 'bell') {
      const text = format('bell', '');
      for (const userId of event.userIds) for (const res of this.byUser.get(userId) ?? []) write(res, text);
      return;
    }
    this.writeAll(
      event.kind === 'cases'
        ? format('cases', JSON.stringify(event.versions ? { ids: event.ids, versions: event.versions } : event.ids))
        : format('resync', ''),
    );
  }

  closeAll(): void {
    for (const set of this.byUser.values()) for (const res of set) res.end();
    this.byUser.clear();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private writeAll(text: string): void {
    for (const set of this.byUser.values()) for (const res of set) write(res, text);
  }
}

export function format(event: string, data: string): string {
  return `id: ${Date.now()}\nevent: ${event}\ndata: ${data}\n\n`;
}

function write(res: ServerResponse, text: string): void {
  if (!res.writableEnded && !res.destroyed) res.write(text);
}
