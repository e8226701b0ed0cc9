// Rebinding a target to another account, in Postgres: the old links are archived (never dropped),
// the binding moves, marked unfinished until the actors are reset, and catch-up starts again from
// now for the new account. For Stripe, the
// invoices issued in the old account are marked as its own.
import type { Sql } from './connect.ts';

export interface RebindResult {
  readonly previous: { accountId: string; livemode: boolean } | undefined;
  readonly archivedLinks: number;
  /** Invoices issued in the old Stripe account, now marked with it. */
  readonly formerInvoices: number;
}

export async function rebindTarget(
  sql: Sql,
  target: string,
  next: { accountId: string; livemode: boolean },
): Promise<RebindResult> {
  return sql.begin(async (tx) => {
    const [previous] = await tx<{ account_id: string; livemode: boolean }[]>`
      SELECT account_id, livemode FROM target_bindings WHERE target = ${target} FOR UPDATE`;
    const archived = await tx`
      INSERT INTO customer_links_archive (customer_id, target, external_id, linked_at, account_id)
      SELECT customer_id, target, external_id, linked_at, ${previous?.account_id ?? 'unknown'}
      FROM customer_links WHERE target = ${target}`;
    await tx`DELETE FROM customer_links WHERE target = ${target}`;
    // The actors are reset after this commits (`actorsReset`): until then, nothing may start.
    await tx`
      INSERT INTO target_bindings (target, account_id, livemode, actors_reset_pending)
      VALUES (${target}, ${next.accountId}, ${next.livemode}, true)
      ON CONFLICT (target) DO UPDATE
        SET account_id = EXCLUDED.account_id, livemode = EXCLUDED.livemode, bound_at = now(),
            actors_reset_pending = true`;
    let formerInvoices = 0;
    if (target === 'stripe') {
      await tx`DELETE FROM catchup_watermarks WHERE source = 'stripe'`;
      const marked = await tx`
        UPDATE invoices SET former_stripe_account = ${previous?.account_id ?? 'unknown'}
        WHERE stripe_invoice_id IS NOT NULL AND former_stripe_account IS NULL`;
      formerInvoices = marked.count;
    }
    return {
      previous: previous
        ? { accountId: previous.account_id, livemode: previous.livemode }
        : undefined,
      archivedLinks: archived.count,
      formerInvoices,
    };
  });
}

/** The rebind's last step is done: the actors forgot the old account, and rtws may start. */
export async function actorsReset(sql: Sql, target: string): Promise<void> {
  await sql`UPDATE target_bindings SET actors_reset_pending = false WHERE target = ${target}`;
}
