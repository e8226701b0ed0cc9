// A whole rtws for one suite: its own database, its own namespace, the shared (or given) services.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { loadConfig, type Config, type Env } from '../../core/config.ts';
import { silentLogger } from '../../core/ports.ts';
import { names as subjectNames, type Names } from '../../core/subjects.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { ensureStreams } from '../../adapters/jetstream/streams.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { startRtws, type Rtws } from '../../deploy/rtws.ts';
import { createTestDatabase, sharedServices, uniqueName, type TestDatabase } from './services.ts';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestEnvironment {
  readonly db: TestDatabase;
  readonly namespace: string;
  readonly names: Names;
  readonly env: Env;
  readonly natsUrl: string;
  config(overrides?: Env): Config;
  /** Deletes the namespace's streams and drops the database. */
  cleanup(): Promise<void>;
}

export async function testEnvironment(
  options: { postgresAdminUrl?: string; natsUrl?: string } = {},
): Promise<TestEnvironment> {
  const shared = options.postgresAdminUrl && options.natsUrl ? undefined : await sharedServices();
  const natsUrl = options.natsUrl ?? shared!.natsUrl;
  const db = await createTestDatabase(options.postgresAdminUrl ?? shared!.postgresAdminUrl);
  const namespace = uniqueName('t');
  // The sandbox (a process started without a Stripe key) keeps its emulators' state here.
  const dataDir = mkdtempSync(join(tmpdir(), 'rtws-data-'));
  const env: Env = {
    RTWS_DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    PORT: '0',
    RTWS_API_TOKEN: TEST_TOKEN,
    RTWS_NAMESPACE: namespace,
    RTWS_PUBLISHER_POLL_MS: '200',
    LOG_LEVEL: 'silent',
  };
  return {
    db,
    namespace,
    names: subjectNames(namespace, 16),
    env,
    natsUrl,
    config: (overrides = {}) => loadConfig({ ...env, ...overrides }),
    async cleanup() {
      await deleteNamespace(natsUrl, namespace).catch(() => {});
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestRtws(t: TestEnvironment, overrides: Env = {}): Promise<Rtws> {
  return startRtws(t.config(overrides), silentLogger);
}

async function deleteNamespace(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connectNats({ servers: [natsUrl], name: 'rtws-test-cleanup' });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const s of jsm.streams.list()) {
      const name = s.config.name;
      if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`))
        await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

export function authHeaders(token = TEST_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

export interface Observer {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  close(): Promise<void>;
}

/** The database migrated and the streams created, with connections to look at both; no role runs. */
export async function observe(t: TestEnvironment): Promise<Observer> {
  const sql = connectPostgres(t.db.url, { max: 8 });
  await migrate(sql);
  const nats = await connectNats({ servers: [t.natsUrl], name: 'rtws-test-observer' });
  await ensureStreams(await jetstreamManager(nats), t.names, { maxAgeSeconds: 0, maxBytes: -1 });
  return {
    sql,
    nats,
    async close() {
      await nats.close();
      await sql.end();
    },
  };
}
