import type { Clock } from './clock.ts';
import type { EventObject } from './events.ts';
import { Ring } from './ring.ts';
import { signatureHeader } from './signature.ts';
import type { WebhookEndpointRecord } from './webhook-endpoint.ts';
import { DeliveryAgents } from './webhook-post.ts';

/** One delivery attempt as the receiver answered it. */
export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  endpointId: string;
  url: string;
  attempt: number;
  status: number | null;
  error: string | null;
  ok: boolean;
  at: number;
}

export interface DispatcherOptions {
  /** Waits before each retry; attempts = 1 + its length. */
  retryScheduleMs: readonly number[];
  concurrencyPerEndpoint: number;
  timeoutMs: number;
}

/** Chaos for deliveries: set through the control API. */
export interface WebhookBehaviour {
  duplicate: boolean;
  delayMs: number;
  /** Shuffle deliveries within windows of this many (0 or 1: in order). */
  reorderWindow: number;
}

interface Delivery {
  event: EventObject;
  endpoint: WebhookEndpointRecord;
  attempt: number;
  /** Duplicates do not count towards the event's pending_webhooks. */
  counted: boolean;
  /** The `drop()` count when it was queued: an attempt on the wire during a drop is not retried. */
  drops: number;
}

interface EndpointQueue {
  items: (Delivery | undefined)[];
  head: number;
  inFlight: number;
}

const REORDER_HOLD_MS = 50;

/** At-least-once, unordered, retried webhook delivery with Stripe's signature. */
export class WebhookDispatcher {
  readonly behaviour: WebhookBehaviour = { duplicate: false, delayMs: 0, reorderWindow: 0 };
  paused = false;
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly waiting = new Map<Delivery, NodeJS.Timeout>();
  private readonly attempts = new Ring<DeliveryAttempt>(10_000);
  private readonly agents: DeliveryAgents;
  private idleWaiters: (() => void)[] = [];
  private flushing = 0;
  private pumpScheduled = false;
  private closed = false;
  private generation = 0;
  private drops = 0;
  delivered = 0;
  failed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly options: DispatcherOptions,
  ) {
    this.agents = new DeliveryAgents(options.concurrencyPerEndpoint);
  }

  /** Queues an event for the given endpoints; returns how many endpoints will receive it. */
  enqueue(event: EventObject, endpoints: readonly WebhookEndpointRecord[]): number {
    for (const endpoint of endpoints) {
      const first = { event, endpoint, attempt: 1, drops: this.drops };
      this.start({ ...first, counted: true });
      if (this.behaviour.duplicate) this.start({ ...first, counted: false });
    }
    return endpoints.length;
  }

  list(): DeliveryAttempt[] {
    return this.attempts.list();
  }

  pending(): number {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.items.length - q.head + q.inFlight;
    return queued + this.waiting.size;
  }

  resume(): void {
    this.paused = false;
    this.schedulePump();
  }

  /** Delivers everything now (retries included, pause ignored) and resolves once nothing is pending. */
  async flush(timeoutMs = 30_000): Promise<void> {
    this.flushing++;
    try {
      for (const [delivery, timer] of this.waiting) {
        clearTimeout(timer);
        this.waiting.delete(delivery);
        this.push(delivery);
      }
      this.pump();
      await this.idle(timeoutMs);
    } finally {
      this.flushing--;
    }
  }

  /**
   * Gives up on every pending delivery, retries included, as Stripe does once its retries run out:
   * they count as failed and the events keep their pending_webhooks. Attempts on the wire finish,
   * but are not retried. Returns how many deliveries were dropped.
   */
  drop(): number {
    this.drops++;
    let dropped = 0;
    for (const timer of this.waiting.values()) clearTimeout(timer);
    dropped += this.waiting.size;
    this.waiting.clear();
    for (const queue of this.queues.values()) {
      dropped += queue.items.length - queue.head;
      queue.items = [];
      queue.head = 0;
    }
    this.failed += dropped;
    this.wakeIdle();
    return dropped;
  }

  /** Drops everything pending (reset); attempts already on the wire finish unobserved. */
  clear(): void {
    this.generation++;
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.queues.clear();
    this.attempts.clear();
    this.delivered = 0;
    this.failed = 0;
    this.wakeIdle();
  }

  close(): void {
    this.closed = true;
    this.clear();
    this.agents.destroy();
  }

  private start(delivery: Delivery): void {
    if (this.behaviour.delayMs > 0 && this.flushing === 0)
      this.wait(delivery, this.behaviour.delayMs);
    else this.push(delivery);
  }

  private wait(delivery: Delivery, ms: number): void {
    const timer = setTimeout(() => {
      this.waiting.delete(delivery);
      this.push(delivery);
    }, ms);
    timer.unref();
    this.waiting.set(delivery, timer);
  }

  private push(delivery: Delivery): void {
    if (this.closed) return;
    let queue = this.queues.get(delivery.endpoint.id);
    if (!queue) {
      queue = { items: [], head: 0, inFlight: 0 };
      this.queues.set(delivery.endpoint.id, queue);
    }
    queue.items.push(delivery);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    // Deliveries from one request are batched; reordering holds them a moment so there is something to shuffle.
    const run = () => {
      this.pumpScheduled = false;
      this.pump();
    };
    if (this.behaviour.reorderWindow > 1 && this.flushing === 0)
      setTimeout(run, REORDER_HOLD_MS).unref();
    else setImmediate(run);
  }

  private pump(): void {
    if (this.closed || (this.paused && this.flushing === 0)) return;
    let skipped = false;
    for (const queue of this.queues.values()) {
      while (
        queue.inFlight < this.options.concurrencyPerEndpoint &&
        queue.head < queue.items.length
      ) {
        this.shuffleHead(queue);
        const delivery = queue.items[queue.head]!;
        queue.items[queue.head++] = undefined;
        // A disabled endpoint is not called, and what was due to it then is not kept for later.
        if (delivery.endpoint.status !== 'enabled') {
          this.failed++;
          skipped = true;
          continue;
        }
        queue.inFlight++;
        void this.send(delivery, queue);
      }
      if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
        queue.items = queue.items.slice(queue.head);
        queue.head = 0;
      }
    }
    if (skipped) this.wakeIdle();
  }

  private shuffleHead(queue: EndpointQueue): void {
    const window = Math.min(this.behaviour.reorderWindow, queue.items.length - queue.head);
    if (window <= 1) return;
    const pick = queue.head + Math.floor(Math.random() * window);
    [queue.items[queue.head], queue.items[pick]] = [queue.items[pick], queue.items[queue.head]];
  }

  private async send(delivery: Delivery, queue: EndpointQueue): Promise<void> {
    const generation = this.generation;
    const body = JSON.stringify(delivery.event, null, 2);
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'Cache-Control': 'no-cache',
      'Stripe-Signature': signatureHeader(body, delivery.endpoint.secret, this.clock.nowSeconds()),
    };
    const result = await this.agents.post(
      delivery.endpoint.url,
      body,
      headers,
      this.options.timeoutMs,
    );
    queue.inFlight--;
    if (generation !== this.generation) return;
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    this.attempts.add({
      eventId: delivery.event.id,
      eventType: delivery.event.type,
      endpointId: delivery.endpoint.id,
      url: delivery.endpoint.url,
      attempt: delivery.attempt,
      status: result.status,
      error: result.error,
      ok,
      at: this.clock.nowMs(),
    });
    if (ok) this.succeeded(delivery);
    else this.retry(delivery);
    this.pump();
    this.wakeIdle();
  }

  private succeeded(delivery: Delivery): void {
    this.delivered++;
    if (delivery.counted && delivery.event.pending_webhooks > 0) delivery.event.pending_webhooks--;
  }

  private retry(delivery: Delivery): void {
    const waitMs = this.options.retryScheduleMs[delivery.attempt - 1];
    if (waitMs === undefined || delivery.drops !== this.drops) {
      this.failed++;
      return;
    }
    const next = { ...delivery, attempt: delivery.attempt + 1 };
    if (this.flushing > 0) this.push(next);
    else this.wait(next, waitMs);
  }

  private idle(timeoutMs: number): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const waiter = () => {
        if (this.pending() === 0 || this.closed) done();
        else this.idleWaiters.push(waiter);
      };
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(waiter);
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
