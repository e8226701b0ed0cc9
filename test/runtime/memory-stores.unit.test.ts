// The in-memory stores the runtime's unit tests run on keep the same contracts as the KV stores,
// so what those tests show holds in production too.
import { leaseStoreContract } from './lease-store.contract.ts';
import { MemoryLeaseStore } from './memory-lease-store.ts';
import { MemoryStore } from './memory-snapshot-store.ts';
import { snapshotStoreContract } from './snapshot-store.contract.ts';

snapshotStoreContract('in memory', { open: async () => new MemoryStore() });

leaseStoreContract('in memory', {
  async open(ttlMs) {
    const leases = new MemoryLeaseStore(ttlMs);
    return {
      leases,
      pass: async (ms) => {
        leases.now += ms;
      },
    };
  },
});
