import postgres from 'postgres';

export type Sql = postgres.Sql;
/** A transaction's handle, or the pool itself: what a repository method can run on. */
export type Tx = postgres.TransactionSql | postgres.Sql;

/**
 * The type of a `text[]` parameter, named: postgres.js types an array parameter by what it learned
 * of the server's array types, which a fresh connection has not yet when it is its first statement.
 */
export const TEXT_ARRAY = 1009;

/**
 * One text field of each item of a batch, as a `text[]` parameter in the items' order: text a batch
 * sends as text, not inside JSON, which refuses some strings text takes (a lone surrogate, say).
 */
export function textColumn<T>(
  sql: Sql,
  items: readonly T[],
  pick: (item: T) => string | null | undefined,
) {
  return sql.array(
    items.map((item) => pick(item) ?? null),
    TEXT_ARRAY,
  );
}

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

/** The database a URL names. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The URL with another database. */
export function withDatabase(url: string, name: string): string {
  const other = new URL(url);
  other.pathname = `/${encodeURIComponent(name)}`;
  return other.toString();
}

/** Whether the database named in `url` exists on its server. */
export async function databaseExists(url: string): Promise<boolean> {
  const name = databaseOf(url);
  if (!name) return false;
  return onServer(url, async (sql) => {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    return row !== undefined;
  });
}

/** Creates the database named in `url` when it does not exist yet. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseOf(url);
  if (!name) return;
  await onServer(url, async (sql) => {
    const [row] = await sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`;
    if (row) return;
    await sql.unsafe(`CREATE DATABASE ${quoteIdent(name)}`).catch((err: unknown) => {
      // Another process created it first: 42P04 once it has committed, 23505 (pg_database's
      // unique name index) when both creates ran at once, as processes started together do.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    });
  });
}

/** Runs `work` on the server's `postgres` database, over a connection of its own. */
async function onServer<T>(url: string, work: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(withDatabase(url, 'postgres'), {
    max: 1,
    onnotice: () => {},
    connect_timeout: 5,
  });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
