// Finds the Postgres and NATS servers the tests share: the env URLs first, then the services on
// their default local ports, then (where a Docker engine exists) testcontainers. This is the only
// test code that reads process.env to find services.
import { answers } from '../../deploy/private/address.ts';
import { randomBytes } from 'node:crypto';
import { withDatabase } from '../../adapters/postgres/connect.ts';
import postgres from 'postgres';

export { withDatabase };

type Testcontainers = typeof import('testcontainers'); // eslint-disable-line @typescript-eslint/consistent-type-imports -- loaded only where Docker is the route

export interface SharedServices {
  /** A URL to the server's maintenance database, used to create and drop test databases. */
  readonly postgresAdminUrl: string;
  readonly natsUrl: string;
}

let found: Promise<SharedServices> | undefined;

export function sharedServices(): Promise<SharedServices> {
  found ??= locate();
  return found;
}

async function locate(): Promise<SharedServices> {
  const [postgresAdminUrl, natsUrl] = await Promise.all([locatePostgres(), locateNats()]);
  return { postgresAdminUrl, natsUrl };
}

async function locatePostgres(): Promise<string> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return withDatabase(fromEnv, 'postgres');
  if (await reachable('127.0.0.1', 5432)) return 'postgres://postgres@127.0.0.1:5432/postgres';
  return startContainer('postgres');
}

async function locateNats(): Promise<string> {
  const fromEnv = process.env.NATS_URL;
  if (fromEnv) return fromEnv;
  if (await reachable('127.0.0.1', 4222)) return 'nats://127.0.0.1:4222';
  return startContainer('nats');
}

/** Whether a TCP connection to host:port opens within the timeout. */
export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return answers({ host, port }, timeoutMs);
}

async function startContainer(kind: 'postgres' | 'nats'): Promise<string> {
  let tc: Testcontainers;
  try {
    tc = await import('testcontainers');
  } catch (cause) {
    throw new Error(`no ${kind} found and testcontainers is not installed`, { cause });
  }
  try {
    if (kind === 'postgres') {
      const c = await new tc.GenericContainer('postgres:15')
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
        .withExposedPorts(5432)
        .withWaitStrategy(tc.Wait.forLogMessage(/ready to accept connections/, 2))
        .start();
      return `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
    }
    const c = await new tc.GenericContainer('nats:2.10')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .start();
    return `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
  } catch (cause) {
    throw new Error(
      `no ${kind} on its default local port, no ${kind === 'postgres' ? 'DATABASE_URL' : 'NATS_URL'}, ` +
        'and no Docker engine for testcontainers',
      { cause },
    );
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the shared server, for one suite. */
export async function createTestDatabase(adminUrl?: string): Promise<TestDatabase> {
  const admin = adminUrl ?? (await sharedServices()).postgresAdminUrl;
  const name = uniqueName('rtws_t_');
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end();
  }
  return {
    name,
    url: withDatabase(admin, name),
    async drop() {
      const s = postgres(admin, { max: 1, onnotice: () => {} });
      try {
        await s.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await s.end();
      }
    },
  };
}

/**
 * Test sizes that a longer run may raise: `RTWS_FAULT_ROUNDS` (how often each fault repeats),
 * `RTWS_SYNC_CUSTOMERS` (customers in the scale tests), `RTWS_ECHO_EDITS` (API edits whose echoes
 * are counted), `RTWS_PROPERTY_RUNS` (interleavings the two-way property tries) and
 * `RTWS_RESTART_PROPERTY_RUNS` (interleavings the two-way property through crashes tries); and for
 * the imports `RTWS_IMPORT_CUSTOMERS` (Stripe customers the scale import walks), `RTWS_IMPORT_MATCHED`
 * (of those, the ones the catalogue already has), `RTWS_RESUME_CUSTOMERS` (the import killed
 * mid-walk) and `RTWS_LIVE_IMPORT_CUSTOMERS` (the import that live edits race); and
 * `RTWS_BUDGET_SECONDS` (how long processes share one Stripe budget); `RTWS_THREE_SIDES_ROUNDS` (a field
 * edited on three sides at once); `RTWS_EMAIL_LOOKUP_CUSTOMERS` (the catalogue that matching by email
 * must look up by index); `RTWS_BACKLOG_ROWS` (the outbox backlog a publisher drains); `RTWS_CONFLICT_ROWS` (the
 * conflicts among which one customer's are listed).
 */
export function testSize(
  name:
    | 'RTWS_FAULT_ROUNDS'
    | 'RTWS_SYNC_CUSTOMERS'
    | 'RTWS_ECHO_EDITS'
    | 'RTWS_PROPERTY_RUNS'
    | 'RTWS_RESTART_PROPERTY_RUNS'
    | 'RTWS_IMPORT_CUSTOMERS'
    | 'RTWS_IMPORT_MATCHED'
    | 'RTWS_RESUME_CUSTOMERS'
    | 'RTWS_LIVE_IMPORT_CUSTOMERS'
    | 'RTWS_RECONCILE_CUSTOMERS'
    | 'RTWS_BUDGET_SECONDS'
    | 'RTWS_CLUSTER_CUSTOMERS'
    | 'RTWS_SF_CHANGES_EDITS'
    | 'RTWS_THREE_SIDES_ROUNDS'
    | 'RTWS_PII_CUSTOMERS'
    | 'RTWS_EMAIL_LOOKUP_CUSTOMERS'
    | 'RTWS_BACKLOG_ROWS'
    | 'RTWS_CONFLICT_ROWS',
  fallback: number,
): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  return n;
}
