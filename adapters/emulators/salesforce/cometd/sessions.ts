// CometD client sessions: what each client subscribed to, how far it has received, and the one
// `/meta/connect` it may have waiting (long polling). A session that does not reconnect within
// 40 seconds of a reply is dropped, as Salesforce drops it; its next connect gets `403::Unknown client`.
import { randomBytes } from 'node:crypto';
import type { ChangeEvent, EventBus } from '../cdc/bus.ts';
import type { ChannelFilter } from './channels.ts';

/** One event for one subscribed channel. */
export interface Delivery {
  readonly channel: string;
  readonly event: ChangeEvent;
}

/** Why a waiting connect was answered. */
export type Wakeup = 'events' | 'timeout' | 'replaced' | 'disconnected' | 'dropped' | 'aborted';

interface Subscription {
  readonly filter: ChannelFilter;
  /** The replay id after which this channel's events are still to be delivered. */
  cursor: number;
}

interface Waiting {
  readonly wake: (why: Wakeup) => void;
}

const RECONNECT_DEADLINE_MS = 40_000;

export class Session {
  readonly id = clientId();
  readonly subscriptions = new Map<string, Subscription>();
  connected = false;
  waiting: Waiting | undefined;
  lastReply = Date.now();

  /** The next events due, oldest first, at most `limit`; nothing is marked delivered yet. */
  due(bus: EventBus, limit: number): Delivery[] {
    if (this.subscriptions.size === 0 || limit <= 0) return [];
    const from = Math.min(...[...this.subscriptions.values()].map((s) => s.cursor));
    const out: Delivery[] = [];
    for (const event of bus.after(from)) {
      for (const [channel, sub] of this.subscriptions) {
        if (event.replayId > sub.cursor && sub.filter(event)) out.push({ channel, event });
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Marks deliveries as sent; a channel's cursor moves past them. */
  delivered(deliveries: readonly Delivery[]): void {
    for (const { channel, event } of deliveries) {
      const sub = this.subscriptions.get(channel);
      if (sub && event.replayId > sub.cursor) sub.cursor = event.replayId;
    }
  }

  /** Wakes the waiting connect, if any. */
  wake(why: Wakeup): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.wake(why);
  }
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();

  create(): Session {
    this.sweep();
    const session = new Session();
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: unknown): Session | undefined {
    this.sweep();
    return typeof id === 'string' ? this.sessions.get(id) : undefined;
  }

  end(session: Session, why: Wakeup): void {
    this.sessions.delete(session.id);
    session.wake(why);
  }

  /** Ends every session, as a server restart would; returns how many there were. */
  endAll(why: Wakeup): number {
    const all = [...this.sessions.values()];
    for (const session of all) this.end(session, why);
    return all.length;
  }

  /** Wakes each waiting connect that now has events due. */
  wakeDue(bus: EventBus): void {
    for (const session of this.sessions.values())
      if (session.waiting && session.due(bus, 1).length > 0) session.wake('events');
  }

  count(): number {
    this.sweep();
    return this.sessions.size;
  }

  private sweep(): void {
    const deadline = Date.now() - RECONNECT_DEADLINE_MS;
    for (const session of this.sessions.values())
      if (!session.waiting && session.lastReply < deadline) this.sessions.delete(session.id);
  }
}

/** Shaped like Salesforce's client ids: 28 lowercase letters and digits. */
function clientId(): string {
  return [...randomBytes(28)].map((b) => (b % 36).toString(36)).join('');
}
