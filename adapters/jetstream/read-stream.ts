// Reading a stream's messages on one filter, in order, with an end: up to the stream's last
// sequence when the read starts, in fetched batches that end on their own. A message deleted while
// it is read (an erasure, a retention trim, an actor dropping a message for an erased customer)
// never leaves the read waiting for it, and messages stored later are not chased.
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** How long a read waits for messages the server says are there before it gives up. */
const STALL_MS = 30_000;

/**
 * Every message of `stream` on `filter` stored when the read starts (from `fromSeq` on, when
 * given), in order. A read that gets nothing while the server still counts messages to read
 * retries, and fails after STALL_MS rather than end early.
 */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  filter: string,
  visit: (m: JsMsg) => void,
  fromSeq?: number,
): Promise<void> {
  const until = (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  const consumer = await jetstream(nc).consumers.get(stream, {
    ...(fromSeq === undefined
      ? { deliver_policy: DeliverPolicy.All }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }),
    // A string, not an array: nats-server 2.9 knows a single filter subject only.
    filter_subjects: filter,
  });
  let stalledSince: number | undefined;
  for (;;) {
    if ((await consumer.info()).num_pending === 0) return;
    let got = 0;
    for await (const m of await consumer.fetch({ max_messages: 500, expires: 1_000 })) {
      got++;
      if (m.seq > until) return;
      visit(m);
      if (m.info.pending === 0 || m.seq === until) return;
    }
    if (got > 0) stalledSince = undefined;
    else if (Date.now() - (stalledSince ??= Date.now()) > STALL_MS)
      throw new Error(`reading ${stream} (${filter}) stalled for ${STALL_MS / 1000} s`);
  }
}
