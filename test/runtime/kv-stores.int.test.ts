// The KV stores against a real server: the snapshot and lease contracts, with leases that the
// server itself expires after the bucket's TTL. Each test gets a bucket of its own.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { openLeaseStore } from '../../adapters/jetstream/kv-lease-store.ts';
import { openSnapshotStore } from '../../adapters/jetstream/kv-snapshot-store.ts';
import { testEnvironment, type TestEnvironment } from '../harness/rtws.ts';
import type { SuiteHooks } from './contract.ts';
import { leaseStoreContract } from './lease-store.contract.ts';
import { snapshotStoreContract } from './snapshot-store.contract.ts';

/** A namespace on the shared NATS for one suite, and a new bucket name in it for each test. */
function kvNamespace(prefix: string): SuiteHooks & { nats(): NatsConnection; bucket(): string } {
  let t: TestEnvironment | undefined;
  let nats: NatsConnection | undefined;
  let buckets = 0;
  return {
    async before() {
      t = await testEnvironment();
      nats = await connectNats({ servers: [t.natsUrl], name: 'rtws-test-kv-stores' });
    },
    async after() {
      await nats?.close();
      await t?.cleanup();
    },
    nats: () => nats!,
    bucket: () => t!.names.bucket(`${prefix}_${++buckets}`),
  };
}

const actors = kvNamespace('ACTORS');
snapshotStoreContract('KV', {
  ...actors,
  open: () => openSnapshotStore(jetstream(actors.nats()), actors.bucket()),
});

const leases = kvNamespace('LEASES');
leaseStoreContract('KV', {
  ...leases,
  async open(ttlMs) {
    return {
      leases: await openLeaseStore(leases.nats(), { bucket: leases.bucket(), ttlMs }),
      pass: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
  },
});
