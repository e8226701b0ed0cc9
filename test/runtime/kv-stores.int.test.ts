// The KV stores against a real server: the snapshot and lease contracts, with leases that the
// server itself expires after the bucket's TTL, and that TTL raised, never shortened, by a worker
// configured with another. Each test gets a bucket of its own.
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
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

const ttls = kvNamespace('LEASES_TTL');
const ttlSuite = suite('lease bucket TTL');
ttlSuite.before(() => ttls.before!());
ttlSuite.after(() => ttls.after!());
ttlSuite('a longer configured TTL raises the bucket; a shorter one leaves it', async () => {
  const bucket = ttls.bucket();
  const open = (ttlMs: number) => openLeaseStore(ttls.nats(), { bucket, ttlMs });
  assert.is((await open(2_000)).ttlMs, 2_000, 'created with it');
  // A call timeout raised with its lease TTL: the bucket follows, or no call ever starts.
  assert.is((await open(6_000)).ttlMs, 6_000, 'raised');
  const status = await (await new Kvm(jetstream(ttls.nats())).open(bucket)).status();
  assert.is(status.ttl, 6_000, 'on the server');
  assert.is((await open(3_000)).ttlMs, 6_000, 'never shortened under running workers');
});
ttlSuite.run();
