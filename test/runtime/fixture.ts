// Workers for one test environment, each on its own NATS connection so that a test can cut one
// off as a crash would; and readers for what the workers left in KV.
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger } from '../../core/ports.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import {
  startWorker,
  type Worker,
  type WorkerOptions,
} from '../../deploy/wiring/worker/start-worker.ts';
import type { TestEnvironment } from '../harness/rtws.ts';

export interface TestWorker {
  readonly worker: Worker;
  readonly nats: NatsConnection;
  /** Stops the worker (freeing its leases if it still can) and closes its connection. */
  close(): Promise<void>;
}

export async function startTestWorker(
  t: TestEnvironment,
  options: Partial<Omit<WorkerOptions, 'nats' | 'names'>> = {},
): Promise<TestWorker> {
  const nats = await connectNats({ servers: [t.natsUrl], name: 'rtws-test-worker' });
  try {
    const worker = await startWorker({
      nats,
      names: t.names,
      log: silentLogger,
      ...t.config().worker,
      leaseTtlMs: 3_000,
      ...options,
    });
    return {
      worker,
      nats,
      async close() {
        await worker.stop().catch(() => {});
        if (!nats.isClosed()) await nats.close();
      },
    };
  } catch (err) {
    await nats.close();
    throw err;
  }
}

export interface StoredActorView {
  revision: number;
  desiredVersion: number | undefined;
  stripePending: string | undefined;
  value: { machineVersion: number; snapshot: { context: any } };
}

/** Every actor snapshot in the namespace's KV bucket. */
export async function storedActors(
  nc: NatsConnection,
  t: TestEnvironment,
): Promise<Map<string, StoredActorView>> {
  const kv = await new Kvm(jetstream(nc)).open(t.names.bucket('ACTORS'));
  const out = new Map<string, StoredActorView>();
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  await Promise.all(
    keys.map(async (key) => {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') return;
      const value = entry.json<StoredActorView['value']>();
      const context = value.snapshot.context;
      out.set(key, {
        revision: entry.revision,
        desiredVersion: context.desired?.version,
        stripePending: context.targets.stripe.pending?.type,
        value,
      });
    }),
  );
  return out;
}
