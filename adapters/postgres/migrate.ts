// Numbered plain-SQL migrations from sql/, applied once each, in one transaction, under an advisory
// lock so that several processes starting together apply them exactly once.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sql } from './connect.ts';

export const MIGRATIONS_DIR = new URL('../../sql/', import.meta.url).pathname;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => ({
      version: Number(name.split('_')[0]),
      name,
      sql: await readFile(join(dir, name), 'utf8'),
    })),
  );
}

/** Applies what is missing; returns the names applied (empty when up to date). */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('rtws.migrate'))`;
    await tx`CREATE TABLE IF NOT EXISTS rtws_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
    const applied = new Set(
      (await tx<{ version: number }[]>`SELECT version FROM rtws_migrations`).map((r) => r.version),
    );
    const done: string[] = [];
    for (const m of all) {
      if (applied.has(m.version)) continue;
      try {
        await tx.unsafe(m.sql);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(`migration ${m.name} failed: ${why}`, { cause: err });
      }
      await tx`INSERT INTO rtws_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      done.push(m.name);
    }
    return done;
  });
}

/** True when every migration on disk is applied: part of readiness. */
export async function migrationsApplied(sql: Sql, migrations: Migration[]): Promise<boolean> {
  const rows = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM rtws_migrations WHERE version IN ${sql(migrations.map((m) => m.version))}`;
  return rows[0]?.n === migrations.length;
}
