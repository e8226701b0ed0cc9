// Reads back what landed in a stream, for assertions.
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CustomerChanged } from '../../core/messages.ts';

export interface StoredChange {
  seq: number;
  subject: string;
  msgId: string | undefined;
  message: CustomerChanged;
}

/** Every message in `stream` (optionally filtered), in stream order. */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  filter?: string,
): Promise<StoredChange[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const last = info.state.last_seq;
  const out: StoredChange[] = [];
  if (info.state.messages === 0) return out;
  const js = jetstream(nc);
  const consumer = await js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.All,
    // A string, not an array: nats-server 2.9 knows a single filter subject only.
    ...(filter ? { filter_subjects: filter } : {}),
  });
  // A filter can match nothing; a consume would then wait for ever.
  if ((await consumer.info()).num_pending === 0) return out;
  const iter = await consumer.consume({ max_messages: 1000 });
  for await (const m of iter) {
    out.push({
      seq: m.seq,
      subject: m.subject,
      msgId: m.headers?.get('Nats-Msg-Id'),
      message: m.json<CustomerChanged>(),
    });
    if (m.seq >= last || m.info.pending === 0) break;
  }
  await iter.close();
  return out;
}

/** Polls until `check` passes or the deadline; returns its last value. */
export async function eventually<T>(
  probe: () => Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await probe();
  }
  return value;
}

/**
 * As `eventually`, for a wait whose value the caller does not read: fails when `check` never
 * passes, naming what was waited for and the last value seen, rather than letting the test go on
 * as though it had.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const value = await eventually(probe, check, timeoutMs, everyMs);
  if (!check(value)) {
    const seen = JSON.stringify(value) ?? String(value);
    throw new Error(
      `not true within ${timeoutMs} ms: ${check.toString()}; last seen: ${seen.slice(0, 500)}`,
    );
  }
  return value;
}

/** Per customer, the versions in stream order. */
export function versionsByCustomer(changes: StoredChange[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of changes) {
    const id = c.message.metadata.customer_id;
    out.set(id, [...(out.get(id) ?? []), c.message.metadata.version]);
  }
  return out;
}
