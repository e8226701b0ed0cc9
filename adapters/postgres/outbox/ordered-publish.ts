// Publishes a batch in windows of outstanding PubAcks without ever reordering a subject: a
// subject's next message goes out only after the previous one's PubAck. If an earlier publish
// failed and a later one to the same subject had already been stored, a retry would land them
// out of order.
import type { DurablePublisher } from '../../../core/ports.ts';
import type { OutgoingMessage } from './rows.ts';

export async function publishOrdered(
  publisher: DurablePublisher,
  messages: readonly OutgoingMessage[],
  window: number,
): Promise<void> {
  const chains = new Map<string, Promise<void>>();
  const limit = semaphore(window);
  for (const m of messages) {
    const previous = chains.get(m.subject) ?? Promise.resolve();
    chains.set(
      m.subject,
      previous.then(() => limit(() => publisher.publish(m.subject, m.payload, m.msgId))),
    );
  }
  // Let every chain settle before reporting, so no publish is still running when the caller
  // rolls back and retries the batch.
  const results = await Promise.allSettled(chains.values());
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

function semaphore(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < size) active++;
    else await new Promise<void>((r) => waiting.push(r)); // the finishing task hands its slot over
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
