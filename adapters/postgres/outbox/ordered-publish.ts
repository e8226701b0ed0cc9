// Publishes a batch in windows of outstanding PubAcks without ever reordering a subject: a
// subject's next message goes out only after the previous one's PubAck. If an earlier publish
// failed and a later one to the same subject had already been stored, a retry would land them
// out of order; so after a failure, the rest of that subject's messages are not sent at all.
import type { DurablePublisher } from '../../../core/ports.ts';
import { KeyedQueue } from '../../../core/keyed-queue.ts';
import type { OutgoingMessage } from './rows.ts';

export async function publishOrdered(
  publisher: DurablePublisher,
  messages: readonly OutgoingMessage[],
  window: number,
): Promise<void> {
  const queue = new KeyedQueue({ concurrency: window });
  /** The first failure of each subject that had one. */
  const failed = new Map<string, { err: unknown }>();
  const publish = async (m: OutgoingMessage) => {
    if (failed.has(m.subject)) return;
    try {
      await publisher.publish(m.subject, m.payload, m.msgId, m.correlationId);
    } catch (err) {
      failed.set(m.subject, { err });
    }
  };
  for (const m of messages) void queue.post(m.subject, () => publish(m));
  // Let every subject finish before reporting, so no publish is still running when the caller
  // rolls back and retries the batch.
  await queue.drained();
  const [first] = failed.values();
  if (first) throw first.err;
}
