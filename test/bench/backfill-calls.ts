// The Stripe calls an import makes, sorted from the emulator's request log: list pages, write-backs
// of `metadata.rtws_id` to the customers the account held before (a POST with rtws's key to one of
// them), calls about the live customers (their writes matched to a change by rtws's idempotency
// key), and anything else by method and path.
import { changeKey } from './stripe-calls.ts';
import type { AnsweredRequest } from './request-feed.ts';

const UPDATE = /^rtws-(.+)-(\d+)-update(?:-r\d+)?(?:-a\d+)?$/;
const CUSTOMER_PATH = /^\/v1\/customers\/(cus_\w+)$/;

export type CallKind = 'list page' | 'write-back' | 'live customer' | 'other';

export interface CallTally {
  /** Feeds one answered request in (a `requestFeed` callback). */
  take(r: AnsweredRequest): void;
  /** Per seeded customer, when its first successful write-back was answered (emulator clock, ms). */
  readonly writeBacks: ReadonlyMap<string, number>;
  /** Per change (`changeKey`), when its first successful call was answered. */
  readonly doneAt: ReadonlyMap<string, number>;
  /** Calls answered in [from, to], by kind, and the other calls by method and path. */
  between(
    from: number,
    to: number,
  ): { kinds: Record<CallKind, number>; other: Map<string, number>; failed: number };
}

/** `/v1/customers/cus_123/…` → `/v1/customers/:id/…`, for counting. */
const shape = (path: string) => path.replace(/\/(cus|in|ii|evt|acct)_\w+/g, '/:id');

export function callTally(seeded: ReadonlySet<string>): CallTally {
  const writeBacks = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const seen: { at: number; kind: CallKind; what: string; ok: boolean }[] = [];

  function kindOf(r: AnsweredRequest): CallKind {
    if (r.method === 'GET' && r.path === '/v1/customers') return 'list page';
    const id = CUSTOMER_PATH.exec(r.path)?.[1];
    if (id && !seeded.has(id)) return 'live customer';
    // Only rtws's own writes: its keys start with `rtws-`.
    const ours = r.idempotencyKey?.startsWith('rtws-') === true;
    if (r.method === 'POST' && id && ours) return 'write-back';
    return 'other';
  }

  return {
    writeBacks,
    doneAt,
    take(r) {
      const kind = kindOf(r);
      const ok = r.status === 200;
      const of = CUSTOMER_PATH.exec(r.path)?.[1];
      seen.push({ at: r.at, kind, what: `${r.method} ${shape(r.path)}`, ok });
      if (!ok) return;
      if (kind === 'write-back' && of && !writeBacks.has(of)) writeBacks.set(of, r.at);
      const update = r.idempotencyKey ? UPDATE.exec(r.idempotencyKey) : null;
      if (update) {
        const key = changeKey(update[1]!, Number(update[2]));
        if (!doneAt.has(key)) doneAt.set(key, r.at);
      }
    },
    between(from, to) {
      const kinds: Record<CallKind, number> = {
        'list page': 0,
        'write-back': 0,
        'live customer': 0,
        other: 0,
      };
      const other = new Map<string, number>();
      let failed = 0;
      for (const s of seen) {
        if (s.at < from || s.at > to) continue;
        kinds[s.kind]++;
        if (!s.ok) failed++;
        if (s.kind === 'other') other.set(s.what, (other.get(s.what) ?? 0) + 1);
      }
      return { kinds, other, failed };
    },
  };
}
