// Publishing a verified inbound webhook to the INBOUND stream. The raw bytes go as they arrived, so
// a consumer can check them against the signature-verified original; the event id is the
// Nats-Msg-Id, so a redelivered event inside the stream's duplicate window is stored once. It is
// also the change's correlation id (a Stripe event's id starts its change), in the header every
// consumer's log lines and dead letters read it from.
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { isSaneCorrelationId } from '../../core/correlation.ts';
import { correlationHeaders } from './correlation-header.ts';
import { DUPLICATE_WINDOW_SECONDS } from './streams.ts';

/** What the broker said about a stored message. */
export interface PublishReceipt {
  /** JetStream had already stored a message with this Nats-Msg-Id. */
  duplicate: boolean;
  /** The stream sequence of the stored message (of the first one, for a duplicate). */
  seq?: number;
}

/**
 * A durable publish (the `DurablePublisher` port) that also reports duplicates. Resolves only
 * after the PubAck; rejects when NATS does not answer within `timeoutMs`.
 */
export type InboundPublish = (
  subject: string,
  payload: Uint8Array,
  msgId: string,
) => Promise<PublishReceipt>;

/**
 * The headers naming the Stripe account (`acct_…`) and mode (`live`, `test`) whose key received or
 * listed an event: its consumers drop an event of another account or mode than the database is
 * bound to now (a process still running with the old key after a rebind). An event without the
 * mode header matches either mode; one without either header, any binding.
 */
export const STRIPE_ACCOUNT_HEADER = 'Rtws-Stripe-Account';
export const STRIPE_MODE_HEADER = 'Rtws-Stripe-Mode';

/** A Stripe account and mode, as INBOUND's events are stamped with. */
export interface StripeStamp {
  readonly account: string;
  readonly livemode: boolean;
}

/** Stamps `h` with the account and mode. */
export function setStripeStamp(h: MsgHdrs, stamp: StripeStamp): MsgHdrs {
  h.set(STRIPE_ACCOUNT_HEADER, stamp.account);
  h.set(STRIPE_MODE_HEADER, stamp.livemode ? 'live' : 'test');
  return h;
}

/** The stamp a stored event carries, if any; its mode unknown when it names none. */
export function stripeStampOf(m: {
  headers?: MsgHdrs | undefined;
}): { account: string; livemode?: boolean } | undefined {
  const account = m.headers?.get(STRIPE_ACCOUNT_HEADER);
  if (!account) return undefined;
  const mode = m.headers?.get(STRIPE_MODE_HEADER);
  return mode === 'live' || mode === 'test' ? { account, livemode: mode === 'live' } : { account };
}

/** Whether an event's stamp is of the account and mode `bound`. */
export function stampedAs(stamp: { account: string; livemode?: boolean }, bound: StripeStamp) {
  return (
    stamp.account === bound.account &&
    (stamp.livemode === undefined || stamp.livemode === bound.livemode)
  );
}

export interface InboundPublisherOptions {
  /** Default 5 s. */
  readonly timeoutMs?: number;
  /** The account and mode this process verified its Stripe key belongs to, stamped on each. */
  readonly account?: () => StripeStamp | undefined;
}

export function inboundPublisher(
  js: JetStreamClient,
  { timeoutMs = 5_000, account }: InboundPublisherOptions = {},
): InboundPublish {
  return async (subject, payload, msgId) => {
    let headers = isSaneCorrelationId(msgId) ? correlationHeaders(msgId) : undefined;
    const stamp = account?.();
    if (stamp) headers = setStripeStamp(headers ?? natsHeaders(), stamp);
    const ack = await js.publish(subject, payload, {
      msgID: msgId,
      timeout: timeoutMs,
      ...(headers ? { headers } : {}),
    });
    return { duplicate: ack.duplicate, seq: ack.seq };
  };
}

/** How long a `rememberingPublisher` remembers: most of the streams' duplicate window. */
export const REMEMBER_STORED_MS = (DUPLICATE_WINDOW_SECONDS - 5) * 1_000;
/**
 * The most message ids it holds, about 15 MB: beyond them the oldest go first (above about 850
 * events a second), and are published again as before.
 */
const REMEMBER_STORED_MAX = 100_000;

/** An inbound publish that remembers what it stored (`rememberingPublisher`). */
export interface RememberingPublish extends InboundPublish {
  /** Forgets every message it stored: each is published again, and the broker answers. */
  forgetAll(): void;
  /** The message ids it holds now. */
  held(): number;
}

export interface RememberingOptions {
  /** How long a stored message is answered without a publish, from when its publish was sent. */
  readonly forMs?: number;
  /** The most message ids held; the oldest go first. */
  readonly max?: number;
  /** A monotonic clock, in ms. */
  readonly now?: () => number;
}

/**
 * Publishes through `publish`, and answers a message it stored within `forMs` as JetStream would,
 * without a round trip: a duplicate, at the sequence first stored. The webhook receiver and the
 * catch-up of one process share one: the catch-up lists each event about twice (its margin), and
 * the publish of each, nearly always a duplicate of its webhook's, cost more than its listing.
 *
 * Only a message this stored is remembered, timed from before its publish was sent: the broker's
 * window for it starts later, so within `forMs` (less than the window) the broker would drop it
 * too. A duplicate answer is not remembered: when that window started is not known here. What the
 * broker may have lost is for `forgetOnDisconnect`.
 */
export function rememberingPublisher(
  publish: InboundPublish,
  o: RememberingOptions = {},
): RememberingPublish {
  const forMs = o.forMs ?? REMEMBER_STORED_MS;
  const max = o.max ?? REMEMBER_STORED_MAX;
  const now = o.now ?? (() => performance.now());
  const stored = new Map<string, { seq: number | undefined; sentAt: number }>();
  // The same entries in the order they were stored, nearly that of their sends (a slow PubAck puts
  // one later, and a lookup checks the age of what it finds): `forget` sweeps them from the front.
  // Not the map's own order: a map iterated from the front after deletes there walks past every
  // deleted slot until it is rehashed, about 35 µs a call at 80,000 entries.
  let order: { id: string; sentAt: number }[] = [];
  let head = 0;
  const forget = (t: number) => {
    for (; head < order.length; head++) {
      const { id, sentAt } = order[head]!;
      if (sentAt > t - forMs && stored.size <= max) break;
      // Unless stored again since.
      if (stored.get(id)?.sentAt === sentAt) stored.delete(id);
    }
    if (head > 1_024 && head * 2 > order.length) [order, head] = [order.slice(head), 0];
  };
  const remembering = async (subject: string, payload: Uint8Array, msgId: string) => {
    const sentAt = now();
    forget(sentAt);
    const known = stored.get(msgId);
    if (known && known.sentAt > sentAt - forMs) return { duplicate: true, seq: known.seq };
    const receipt = await publish(subject, payload, msgId);
    if (!receipt.duplicate) {
      stored.set(msgId, { seq: receipt.seq, sentAt });
      order.push({ id: msgId, sentAt });
    }
    return receipt;
  };
  const forgetAll = () => {
    stored.clear();
    [order, head] = [[], 0];
  };
  return Object.assign(remembering, { forgetAll, held: () => stored.size });
}

/**
 * Forgets what `publisher` stored whenever the connection drops, until it closes. A NATS server
 * that restarts may have lost messages it acknowledged (a lone server syncs its files every two
 * minutes), and their ids with them; the catch-up's next listing then stores them again, as it
 * would have without the memory.
 */
export function forgetOnDisconnect(nc: NatsConnection, publisher: RememberingPublish): void {
  void (async () => {
    for await (const s of nc.status())
      if (s.type === 'disconnect' || s.type === 'reconnect') publisher.forgetAll();
  })().catch(() => publisher.forgetAll());
}
