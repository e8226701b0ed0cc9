// The JetStream the footprint benchmark measures against: the shared server (R1), or a private
// three-node cluster with RTWS_REPLICAS=3, where every stream and bucket is kept three times and
// the CPU of all three nodes is counted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsCluster } from '../harness/nats-cluster.ts';
import { sharedServices } from '../harness/services.ts';
import { natsStoreDir } from './footprint-sizes.ts';
import { pidsNamed } from './report.ts';

export interface FootprintNats {
  readonly replicas: number;
  /** For the observer; unset: the shared server. */
  readonly natsUrl?: string;
  /** For rtws. */
  readonly env: Readonly<Record<string, string>>;
  /** The folders holding the streams' stores, one per node, where this process can read them. */
  readonly storeDirs: readonly string[];
  /** The nodes' processes, where they are not the shared server's. */
  pids(): number[] | undefined;
  stop(): Promise<void>;
}

export async function footprintNats(replicas: 1 | 3): Promise<FootprintNats> {
  if (replicas === 1) {
    const dir = natsStoreDir((await sharedServices()).natsUrl);
    return {
      replicas,
      env: {},
      storeDirs: dir ? [dir] : [],
      pids: () => undefined,
      stop: async () => {},
    };
  }
  const cluster = await natsCluster(3);
  try {
    await cluster.metaLeader();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    replicas,
    natsUrl: cluster.urls[0]!,
    env: { NATS_URL: cluster.urls.join(','), RTWS_REPLICAS: '3' },
    storeDirs: cluster.nodes.map((n) => join(n.storeDir, 'jetstream', '$G', 'streams')),
    pids: () =>
      pidsNamed('nats-server').filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cluster.dir);
        } catch {
          return false;
        }
      }),
    stop: () => cluster.stop(),
  };
}
