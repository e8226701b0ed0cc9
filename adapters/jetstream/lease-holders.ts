// Who holds partition leases now, read from the lease bucket without creating it (see
// kv-lease-store.ts for its keys): an operator command asks before changing what workers use.
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '../../core/subjects.ts';
import { LEASE_PREFIX } from './kv-lease-store.ts';
import { isStreamNotFound } from './streams.ts';

/** Workers holding partition leases now; none when no worker ever ran. */
export async function leaseHolders(nats: NatsConnection, names: Names): Promise<string[]> {
  let kv;
  try {
    kv = await new Kvm(jetstream(nats)).open(names.bucket('LEASES'));
  } catch {
    return [];
  }
  const holders = new Set<string>();
  // Opening does not say whether the bucket exists; listing its keys does.
  const keys = await kv.keys(`${LEASE_PREFIX}*`).catch((err: unknown) => {
    if (isStreamNotFound(err)) return undefined;
    throw err;
  });
  if (!keys) return [];
  for await (const key of keys) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') holders.add(entry.json<{ holder: string }>().holder);
  }
  return [...holders];
}
