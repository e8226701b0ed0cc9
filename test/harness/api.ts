// The HTTP app on a fresh, migrated database, driven with inject(). No publisher runs, so every
// captured change stays in the outbox where a test can count it.
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../adapters/http/server.ts';
import type { AppOptions } from '../../adapters/http/app.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { createTestDatabase, type TestDatabase } from './services.ts';
import { TEST_TOKEN } from './rtws.ts';

export interface ApiFixture {
  app: FastifyInstance;
  sql: Sql;
  db: TestDatabase;
  close(): Promise<void>;
}

export async function apiFixture(
  options: {
    bodyLimit?: number;
    syncTargets?: AppOptions['syncTargets'];
    dlq?: AppOptions['dlq'];
  } = {},
): Promise<ApiFixture> {
  const db = await createTestDatabase();
  const sql = connectPostgres(db.url, { max: 4 });
  await migrate(sql);
  const app = await buildServer({
    sql,
    apiTokens: [{ name: 'default', scope: 'admin', token: TEST_TOKEN }],
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    logLevel: process.env.RTWS_TEST_LOG ?? 'silent',
    readiness: async () => ({ postgres: true, nats: true, migrations: true }),
    ...(options.syncTargets ? { syncTargets: options.syncTargets } : {}),
    ...(options.dlq ? { dlq: options.dlq } : {}),
  });
  return {
    app,
    sql,
    db,
    async close() {
      await app.close();
      await sql.end();
      await db.drop();
    },
  };
}

/** Rows in customers and outbox: what "changes nothing" is checked against. */
export async function footprint(
  sql: Sql,
): Promise<{ customers: number; outbox: number; maxVersion: number }> {
  const [r] = await sql<{ customers: number; outbox: number; max_version: number }[]>`
    SELECT (SELECT count(*)::int FROM customers) AS customers,
           (SELECT count(*)::int FROM outbox) AS outbox,
           (SELECT coalesce(max(version), 0)::int FROM customers) AS max_version`;
  return { customers: r!.customers, outbox: r!.outbox, maxVersion: r!.max_version };
}
