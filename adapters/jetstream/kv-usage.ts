// The records of Salesforce orgs' API usage (core/policy/daily-budget.ts), one KV entry per org,
// shared by every process and changed by CAS. An org nobody called for a day is forgotten: its
// next call reads the count afresh.
import { StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { UsageRecord, UsageRecords } from '../../core/policy/daily-budget.ts';
import { isWrongLastSequence } from './kv-errors.ts';
import { ensureBucketReplicas, type ReplicaOptions } from './replicas.ts';

export interface UsageRecordsOptions extends ReplicaOptions {
  readonly bucket: string;
}

const DAY_MS = 24 * 3_600_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function openUsageRecords(
  nc: NatsConnection,
  o: UsageRecordsOptions,
): Promise<UsageRecords> {
  const js = jetstream(nc, { timeout: 2_000 });
  const kv = await new Kvm(js).create(o.bucket, {
    history: 1,
    ttl: DAY_MS,
    // Lost with the server, it is read again from Salesforce's next answer.
    storage: StorageType.Memory,
    replicas: o.replicas ?? 1,
  });
  await ensureBucketReplicas(kv, await jetstreamManager(nc, { timeout: 2_000 }), o);
  return kvUsageRecords(kv);
}

export function kvUsageRecords(kv: KV): UsageRecords {
  const key = (org: string) => `org.${org.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  async function get(org: string): Promise<{ record: UsageRecord; revision: number } | undefined> {
    const e = await kv.get(key(org));
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return { record: JSON.parse(decoder.decode(e.value)) as UsageRecord, revision: e.revision };
  }
  return {
    read: async (org) => (await get(org))?.record,
    async update(org, change) {
      for (;;) {
        const seen = await get(org);
        const next = change(seen?.record);
        if (!next) return seen?.record;
        const value = encoder.encode(JSON.stringify(next));
        try {
          if (seen) await kv.update(key(org), value, seen.revision);
          else await kv.create(key(org), value);
          return next;
        } catch (err) {
          // Another process wrote first (`create` meets an entry just made): read again.
          if (isWrongLastSequence(err) || (err as Error).message?.includes('wrong last sequence'))
            continue;
          throw err;
        }
      }
    },
  };
}
