// Dashboard edits for the inbound benchmark, and what became of each. Every edit gives a customer a
// name no other edit uses, so afterwards the webhook stored in INBOUND, the fact mapped onto the
// customer's subject and the change Postgres committed are each found by that name, and the times
// between them taken per edit.
import { jetstream, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type Stripe from 'stripe';
import type { Names } from '../../core/subjects.ts';
import { sleep, spread, type Spread, type Timing } from './report.ts';

export interface Edit {
  name: string;
  /** The Stripe customer edited. */
  stripeId: string;
  /** Just before the SDK call (ms, wall clock). */
  sentAt: number;
  /** When the SDK call resolved: Stripe had written the change and its event. */
  answeredAt: number;
}

export interface Load {
  readonly edits: Edit[];
  errors: number;
  lastError?: unknown;
  /** The measured window, wall clock (ms); what came before it was warm-up. */
  readonly from: number;
  readonly to: number;
}

export interface Rotation {
  /** The next customer to edit, once it may be edited again. */
  take(): Promise<string>;
  /** Edits that had to wait for their customer. */
  readonly waits: number;
}

/**
 * Round robin over the customers; one is edited again only `gapMs` after its last edit. Stripe's
 * `created` is in whole seconds and rtws trusts an event only when it is more than a second past
 * the customer's last one: closer edits are settled by fetching the customer (see inbound.ts).
 */
export function rotation(ids: readonly string[], gapMs: number): Rotation {
  const last = new Map<string, number>();
  let next = 0;
  let waits = 0;
  return {
    async take() {
      const id = ids[next++ % ids.length]!;
      const wait = (last.get(id) ?? -Infinity) + gapMs - Date.now();
      if (wait > 0) {
        waits++;
        await sleep(wait);
      }
      last.set(id, Date.now());
      return id;
    },
    get waits() {
      return waits;
    },
  };
}

let counter = 0;

async function edit(stripe: Stripe, rot: Rotation, label: string, load: Load): Promise<void> {
  const id = await rot.take();
  const name = `${label} ${counter++}`;
  const sentAt = Date.now();
  try {
    await stripe.customers.update(id, { name });
    load.edits.push({ name, stripeId: id, sentAt, answeredAt: Date.now() });
  } catch (err) {
    load.errors++;
    load.lastError = err;
  }
}

function window(timing: Timing): Load {
  const from = Date.now() + timing.warmupMs;
  return { edits: [], errors: 0, from, to: from + timing.measureMs };
}

/** An open loop: edits sent on a schedule of `perSecond`, whatever is still in flight. */
export async function pacedEdits(
  stripe: Stripe,
  rot: Rotation,
  perSecond: number,
  timing: Timing,
  label: string,
  onMeasure: () => void,
): Promise<Load> {
  const load = window(timing);
  const start = Date.now();
  const inflight = new Set<Promise<void>>();
  let measuring = false;
  for (let sent = 0, now = start; now < load.to; now = Date.now()) {
    if (!measuring && now >= load.from) {
      measuring = true;
      onMeasure();
    }
    const due = Math.floor(((now - start) * perSecond) / 1000);
    for (; sent < due; sent++) {
      const p = edit(stripe, rot, label, load);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  return load;
}

/** `clients` closed loops, each with one edit in flight: as fast as Stripe and the SDK go. */
export async function closedEdits(
  stripe: Stripe,
  rot: Rotation,
  clients: number,
  timing: Timing,
  label: string,
  onMeasure: () => void,
): Promise<Load> {
  const load = window(timing);
  const timer = setTimeout(onMeasure, load.from - Date.now());
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < load.to) await edit(stripe, rot, label, load);
      }),
    );
  } finally {
    clearTimeout(timer);
  }
  return load;
}

/** When each named edit reached each point (ms, wall clock). */
export interface Trace {
  /** Stored in INBOUND: the receiver had verified it and had its PubAck. */
  readonly received: Map<string, number>;
  /** Stored on the customer's subject as a `StripeCustomerObserved` fact. */
  readonly mapped: Map<string, number>;
  /** The captured change with origin `stripe`: the outbox row's `occurred_at`. */
  readonly committed: Map<string, number>;
}

/** Stream sequence numbers, first to last, inclusive. */
export type SeqRange = readonly [number, number];

/** Each message of `stream` from one sequence to another, inclusive. */
export async function readRange(
  nc: NatsConnection,
  stream: string,
  [from, to]: SeqRange,
  each: (m: JsMsg) => void,
): Promise<void> {
  if (to < from) return;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  const iter = await consumer.consume({ max_messages: 1000 });
  for await (const m of iter) {
    each(m);
    if (m.seq >= to) break;
  }
  await iter.close();
}

export const storedAt = (m: JsMsg) => Number(m.info.timestampNanos) / 1e6;

interface Message {
  type?: string;
  data?: { object?: { name?: unknown }; fields?: { name?: unknown }; name?: unknown };
  metadata?: { origin?: string; occurred_at?: string };
}

export async function traceEdits(
  nc: NatsConnection,
  names: Names,
  inbound: SeqRange,
  changes: SeqRange,
): Promise<Trace> {
  const t: Trace = { received: new Map(), mapped: new Map(), committed: new Map() };
  const first = (map: Map<string, number>, name: unknown, at: number) => {
    if (typeof name === 'string' && !map.has(name)) map.set(name, at);
  };
  await readRange(nc, names.streams.inbound, inbound, (m) => {
    const e = m.json<Message>();
    if (e.type === 'customer.updated') first(t.received, e.data?.object?.name, storedAt(m));
  });
  await readRange(nc, names.streams.changes, changes, (m) => {
    const e = m.json<Message>();
    if (e.type === 'StripeCustomerObserved') first(t.mapped, e.data?.fields?.name, storedAt(m));
    else if (e.type === 'CustomerUpdated' && e.metadata?.origin === 'stripe')
      first(t.committed, e.data?.name, Date.parse(e.metadata.occurred_at ?? ''));
  });
  return t;
}

/** How many of `map`'s times fall inside the load's measured window, per second. */
export function ratePerSecond(map: ReadonlyMap<string, number>, load: Load): number {
  let n = 0;
  for (const at of map.values()) if (at >= load.from && at < load.to) n++;
  return (n * 1000) / (load.to - load.from);
}

export interface Latency {
  total: Spread;
  answered: Spread;
  toReceived: Spread;
  toMapped: Spread;
  toCommit: Spread;
  missing: number;
}

/** Per edit sent inside the measured window: the write to each point of the path. */
export function latency(load: Load, t: Trace): Latency {
  const total: number[] = [];
  const answered: number[] = [];
  const toReceived: number[] = [];
  const toMapped: number[] = [];
  const toCommit: number[] = [];
  let missing = 0;
  for (const e of load.edits) {
    if (e.sentAt < load.from || e.sentAt >= load.to) continue;
    answered.push(e.answeredAt - e.sentAt);
    const [r, m, c] = [t.received.get(e.name), t.mapped.get(e.name), t.committed.get(e.name)];
    if (r !== undefined) toReceived.push(r - e.sentAt);
    if (r !== undefined && m !== undefined) toMapped.push(m - r);
    if (c === undefined) missing++;
    else total.push(c - e.sentAt);
    if (m !== undefined && c !== undefined) toCommit.push(c - m);
  }
  return {
    total: spread(total),
    answered: spread(answered),
    toReceived: spread(toReceived),
    toMapped: spread(toMapped),
    toCommit: spread(toCommit),
    missing,
  };
}

export const pp = (x: Spread) => `${x.p50.toFixed(1)} / ${x.p99.toFixed(1)}`;

export function breakdown(l: Latency): string {
  return (
    `p50 / p99 ms: SDK answered ${pp(l.answered)}; write -> stored in INBOUND ${pp(l.toReceived)}; ` +
    `INBOUND -> mapped fact stored ${pp(l.toMapped)}; mapped -> commit ${pp(l.toCommit)}; ` +
    `max ${l.total.max.toFixed(0)} ms, n=${l.total.n}, ${l.missing} edits without their own commit`
  );
}
