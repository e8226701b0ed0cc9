// Every live value of a KV bucket, read once through an ephemeral ordered consumer that delivers the
// last message per key: one pass over the bucket's stream, with no request per key.
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** Calls `visit` with each key's current value (JSON); deleted and purged keys are skipped. */
export async function scanBucket(
  nc: NatsConnection,
  bucket: string,
  visit: (key: string, value: unknown) => void,
): Promise<number> {
  const prefix = `$KV.${bucket}.`;
  const consumer = await jetstream(nc).consumers.get(`KV_${bucket}`, {
    deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subjects: `${prefix}>`,
  });
  // An empty bucket: consuming would wait for ever.
  if ((await consumer.info()).num_pending === 0) return 0;
  const messages = await consumer.consume({ max_messages: 1_000 });
  let seen = 0;
  for await (const m of messages) {
    const op = m.headers?.get('KV-Operation');
    if (op !== 'DEL' && op !== 'PURGE') {
      seen++;
      let value: unknown = null;
      try {
        value = m.json<unknown>();
      } catch {
        // A damaged value counts as nothing; the actor refuses it on its own.
      }
      visit(m.subject.slice(prefix.length), value);
    }
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return seen;
}
