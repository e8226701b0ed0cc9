// Offering a catalogue customer to its actor again, for every configured target: its current row as
// a fact (ignored by an actor that has that version already; the content the outbox published for
// it), then a `RetryRequested` per target. A target never asked (switched on later, or rebound)
// then creates or links the customer; a synced one pushes whatever differs from what it holds.
// It goes through the actor like everything else: no target is written to from here.
import { MESSAGE_SCHEMA, customerMsgId, type CustomerChanged } from '../../../core/messages.ts';
import type { DurablePublisher } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import type { TargetName } from '../../../actors/customer/index.ts';
import { encodeRecordedEvent } from '../../../actors/customer/outcome-message.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import {
  FIRST_ID,
  liveCustomerCount,
  liveCustomerRow,
  liveCustomersAfter,
  liveCustomersWithLinksAfter,
  type LiveCustomerRow,
} from '../../../adapters/postgres/live-customers.ts';

export interface Resync {
  /**
   * Resolves to false when there is no such live customer (nothing was published).
   * `correlationId`: the request that asked, carried in the published messages' header.
   */
  customer(customerId: string, correlationId?: string): Promise<boolean>;
  /**
   * One page of an export, in id order after `after`: each live customer missing a link to one of
   * the targets is offered (`offer`), the others are left (`skip`). A dry run offers nothing.
   */
  page(
    after: string | null,
    options: { dryRun?: boolean; paced?: () => Promise<void> },
  ): Promise<{ cursor: string | null; more: boolean; decisions: ExportDecision[] }>;
  /** Live catalogue customers: the size of an export. */
  count(): Promise<number>;
  /** Every live customer, in pages, at most `perSecond`; reports progress after each page. */
  all(options: { perSecond: number; onPage?: (done: number) => void }): Promise<number>;
}

export interface ExportDecision {
  readonly id: string;
  readonly decision: 'offer' | 'skip';
  readonly reason: string;
}

export interface ResyncDeps {
  readonly sql: Sql;
  readonly publisher: DurablePublisher;
  readonly names: Names;
  readonly targets: readonly TargetName[];
  readonly now?: () => number;
}

const PAGE = 500;
const encoder = new TextEncoder();

/**
 * Publishes a live catalogue customer's current row as a fact, with the id the outbox gives that
 * version: an actor that has the version already ignores it, and one that never saw the customer
 * (a row from before capture, or loaded without it) learns it. False when there is no such live
 * customer.
 */
export async function offerRow(
  d: Pick<ResyncDeps, 'sql' | 'publisher' | 'names'>,
  customerId: string,
): Promise<boolean> {
  const row = await liveCustomerRow(d.sql, customerId);
  if (!row) return false;
  await publishRow(d, row);
  return true;
}

async function publishRow(
  d: Pick<ResyncDeps, 'publisher' | 'names'>,
  row: LiveCustomerRow,
  correlationId?: string,
): Promise<void> {
  const version = Number(row.version);
  const fact: CustomerChanged = {
    type: 'CustomerUpdated',
    data: {
      name: row.name,
      email: row.email,
      phone: row.phone,
      address: row.address,
      metadata: row.metadata,
    },
    metadata: {
      customer_id: row.id,
      version,
      origin: row.origin,
      outbox_id: 0,
      occurred_at: row.updated_at.toISOString(),
      schema: MESSAGE_SCHEMA,
    },
  };
  await d.publisher.publish(
    d.names.customerSubject(row.id),
    encoder.encode(JSON.stringify(fact)),
    customerMsgId(row.id, version, fact.metadata.occurred_at),
    correlationId,
  );
}

export function resyncer(d: ResyncDeps): Resync {
  const now = d.now ?? Date.now;
  const offer = async (row: LiveCustomerRow, correlationId?: string) => {
    await publishRow(d, row, correlationId);
    const subject = d.names.customerSubject(row.id);
    const asked = now();
    for (const target of d.targets) {
      const retry = encodeRecordedEvent(row.id, {
        type: 'RetryRequested',
        data: { target },
        at: 0,
      });
      await d.publisher.publish(
        subject,
        encoder.encode(JSON.stringify(retry)),
        `resync:${row.id}:${target}:${asked}`,
        correlationId,
      );
    }
  };
  return {
    async page(after, { dryRun, paced }) {
      const rows = await liveCustomersWithLinksAfter(d.sql, after ?? FIRST_ID, PAGE);
      const decisions: ExportDecision[] = [];
      for (const row of rows) {
        const missing = d.targets.filter((t) => !row.linked.includes(t));
        if (missing.length === 0) {
          decisions.push({ id: row.id, decision: 'skip', reason: 'linked to every target' });
          continue;
        }
        decisions.push({
          id: row.id,
          decision: 'offer',
          reason: `not linked to ${missing.join(', ')}`,
        });
        if (dryRun) continue;
        await paced?.();
        await offer(row);
      }
      return { cursor: rows.at(-1)?.id ?? after, more: rows.length === PAGE, decisions };
    },
    count: () => liveCustomerCount(d.sql),
    async customer(customerId, correlationId) {
      const row = await liveCustomerRow(d.sql, customerId);
      if (!row) return false;
      await offer(row, correlationId);
      return true;
    },
    async all({ perSecond, onPage }) {
      let after = FIRST_ID;
      let done = 0;
      for (;;) {
        const started = now();
        const rows = await liveCustomersAfter(d.sql, after, PAGE);
        for (const row of rows) await offer(row);
        done += rows.length;
        onPage?.(done);
        if (rows.length < PAGE) return done;
        after = rows[rows.length - 1]!.id;
        // Its calls share the target's budget with live changes: a pace well under the budget
        // leaves them their share (there is no priority between the two yet).
        const wait = (rows.length / perSecond) * 1000 - (now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    },
  };
}
