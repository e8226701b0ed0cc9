import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A transaction's handle, or the pool itself: what a repository method can run on. */
export type Tx = postgres.TransactionSql | postgres.Sql;

export interface ConnectOptions {
  max?: number;
  /** Used in pg_stat_activity, so an operator can tell rtws's connections apart. */
  applicationName?: string;
}

export function connectPostgres(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'rtws' },
    // Reconnect fast after a Postgres restart; queries made meanwhile fail and are retried by callers.
    connect_timeout: 5,
    idle_timeout: 60,
    types: {
      // Versions and outbox ids are bigint columns that stay far below 2^53: plain numbers.
      int8: {
        to: 20,
        from: [20],
        serialize: (n: number) => String(n),
        parse: (s: string) => Number(s),
      },
    },
  });
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    if (row) return;
    await sql.unsafe(`CREATE DATABASE ${quoteIdent(name)}`).catch((err: unknown) => {
      // Another process created it first: 42P04 once it has committed, 23505 (pg_database's
      // unique name index) when both creates ran at once, as processes started together do.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
