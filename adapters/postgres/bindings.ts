// The account each target of this database is bound to (target_bindings).
import type { Sql } from './connect.ts';

export interface Binding {
  readonly target: string;
  readonly accountId: string;
  readonly livemode: boolean;
  readonly boundAt: Date;
  /** A rebind moved the binding and has not reset the actors yet. */
  readonly actorsResetPending: boolean;
}

interface Row {
  target: string;
  account_id: string;
  livemode: boolean;
  bound_at: Date;
  actors_reset_pending: boolean;
}

const toBinding = (r: Row): Binding => ({
  target: r.target,
  accountId: r.account_id,
  livemode: r.livemode,
  boundAt: r.bound_at,
  actorsResetPending: r.actors_reset_pending,
});

export async function bindingOf(sql: Sql, target: string): Promise<Binding | undefined> {
  const [row] = await sql<Row[]>`SELECT * FROM target_bindings WHERE target = ${target}`;
  return row ? toBinding(row) : undefined;
}

/** Binds the target on first use; resolves to the binding in force, which may be another one. */
export async function bindOnce(
  sql: Sql,
  b: Pick<Binding, 'target' | 'accountId' | 'livemode'>,
): Promise<Binding> {
  await sql`
    INSERT INTO target_bindings (target, account_id, livemode)
    VALUES (${b.target}, ${b.accountId}, ${b.livemode}) ON CONFLICT (target) DO NOTHING`;
  return (await bindingOf(sql, b.target))!;
}
