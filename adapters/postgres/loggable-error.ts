// What a log line carries of an error (its `err`): pino's own serialisation, without Postgres's
// `detail`, which quotes the row a statement failed on ("Key (email)=(ann@example.com) already
// exists."). A log is no place for personal data, and an erasure cannot reach it. The code, table,
// column and constraint stay: they say what failed, and the row is the database's to show.
import { stdSerializers } from 'pino';

/** The serializer of `err` in every logger rtws makes. */
export function loggableErr(err: Error): ReturnType<typeof stdSerializers.err> {
  const out = stdSerializers.err(err);
  withoutRowData(out, 0);
  return out;
}

/** A Postgres error as Postgres.js raises it: a five-character SQLSTATE and a severity. */
function isPostgresError(e: Record<string, unknown>): boolean {
  return typeof e.severity === 'string' && typeof e.code === 'string' && e.code.length === 5;
}

/** Through the serialised error and those it holds (an AggregateError's, a field's), not deeper. */
function withoutRowData(value: unknown, depth: number): void {
  if (typeof value !== 'object' || value === null || depth > 4) return;
  const e = value as Record<string, unknown>;
  if (isPostgresError(e) && 'detail' in e) e.detail = '(withheld: it may quote row values)';
  for (const inner of Object.values(e)) withoutRowData(inner, depth + 1);
}
