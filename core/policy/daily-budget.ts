// The share of a Salesforce org's daily API allocation rtws may spend, and the record of the org's
// usage that every worker keeps in one place. Salesforce counts calls over a rolling 24 hours and
// says the count on every answer (`Sforce-Limit-Info: api-usage=USED/LIMIT`); between answers rtws
// counts its own calls, so that neither calls in flight nor answers that arrive out of order make
// the count read lower than what rtws knows has been spent.

/** Above this part of rtws's budget only live changes go: backfills and reconciliations wait. */
export const BACKFILL_SHARE = 0.9;

/** Work that waits first when the budget runs low. */
export type Priority = 'live' | 'backfill';

/** `50%` → 0.5; undefined unless a percentage above 0 and at most 100. */
export function parseShare(text: string): number | undefined {
  const m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(text.trim());
  const percent = m ? Number(m[1]) : NaN;
  return percent > 0 && percent <= 100 ? percent / 100 : undefined;
}

/** What one org's usage looks like to rtws, shared by every process. */
export interface UsageRecord {
  /** The org's allocation, from the last answer; 0 until one was seen. */
  readonly limit: number;
  /** Calls spent in the last 24 h: the last answer's count plus rtws's calls it may not hold. */
  readonly used: number;
  /** rtws's calls so far, by every process (only ever goes up): which calls came after another. */
  readonly issued: number;
  /**
   * rtws's calls sent and not answered yet, by the second (ms / 1000) they were sent in. A
   * process that dies leaves its own: they are dropped once older than any call can be.
   */
  readonly open: Readonly<Record<string, number>>;
  /** When an answer last told the count (ms). */
  readonly seenAt: number;
  /** When a worker last began to read the count without a call of its own to make (ms). */
  readonly checkedAt: number;
}

/** One call as counted: what its answer is read against. */
export interface CallTicket {
  readonly second: number;
  /** `issued` once this call was counted. */
  readonly issued: number;
  /** rtws's calls in flight when it was sent: its answer may not count them yet. */
  readonly openBefore: number;
}

export const NO_USAGE: UsageRecord = Object.freeze({
  limit: 0,
  used: 0,
  issued: 0,
  open: Object.freeze({}),
  seenAt: 0,
  checkedAt: 0,
});

/** The calls rtws may have spent in all, for live changes and for the rest. */
export function budgetOf(limit: number, share: number): { live: number; backfill: number } {
  const live = Math.floor(limit * share);
  return { live, backfill: Math.floor(live * BACKFILL_SHARE) };
}

/** Whether one more call of this priority stays within the budget; never while the count is unknown. */
export function allows(r: UsageRecord | undefined, share: number, priority: Priority): boolean {
  if (!r || r.limit === 0) return false;
  return r.used + 1 <= budgetOf(r.limit, share)[priority];
}

/** Counts one call about to be sent. */
export function reserve(
  r: UsageRecord,
  now: number,
  openForMs: number,
): { record: UsageRecord; ticket: CallTicket } {
  const open = prune(r.open, now, openForMs);
  const second = Math.floor(now / 1000);
  const issued = r.issued + 1;
  return {
    record: {
      ...r,
      used: r.used + 1,
      issued,
      open: { ...open, [second]: (open[second] ?? 0) + 1 },
    },
    ticket: { second, issued, openBefore: total(open) },
  };
}

/**
 * A call answered (or failed without an answer). Its count is Salesforce's at the time it ran: it
 * holds this call, but perhaps none of rtws's calls that were in flight with it or sent since, so
 * those are added. A count lower than before is taken: the allocation is a rolling window, and the
 * calls of 24 h ago no longer count.
 */
export function answered(
  r: UsageRecord,
  ticket: CallTicket,
  now: number,
  openForMs: number,
  usage?: { used: number; limit: number },
): UsageRecord {
  const open: Record<string, number> = { ...prune(r.open, now, openForMs) };
  const mine = open[ticket.second] ?? 0;
  if (mine <= 1) delete open[ticket.second];
  else open[ticket.second] = mine - 1;
  if (!usage) return { ...r, open };
  const sentSince = Math.max(0, r.issued - ticket.issued);
  return {
    ...r,
    open,
    used: usage.used + ticket.openBefore + sentSince,
    limit: usage.limit,
    seenAt: now,
  };
}

/** `api-usage=USED/LIMIT` of a `Sforce-Limit-Info` header (not a connected app's `per-app-api-usage`). */
export function parseLimitInfo(
  header: string | undefined,
): { used: number; limit: number } | undefined {
  const m = header ? /(?:^|[\s,;])api-usage=(\d+)\/(\d+)/.exec(header) : null;
  return m ? { used: Number(m[1]), limit: Number(m[2]) } : undefined;
}

function prune(
  open: Readonly<Record<string, number>>,
  now: number,
  openForMs: number,
): Record<string, number> {
  const oldest = Math.floor((now - openForMs) / 1000);
  return Object.fromEntries(Object.entries(open).filter(([s]) => Number(s) >= oldest));
}

function total(open: Readonly<Record<string, number>>): number {
  return Object.values(open).reduce((a, b) => a + b, 0);
}

/** Where every process finds the records, one per org (a KV bucket). */
export interface UsageRecords {
  read(org: string): Promise<UsageRecord | undefined>;
  /**
   * Writes `change` of the org's record (undefined: there is none yet), unless another process
   * wrote first: then `change` runs again on what it wrote. A `change` that returns undefined
   * writes nothing. Resolves to the record as it now stands.
   */
  update(
    org: string,
    change: (r: UsageRecord | undefined) => UsageRecord | undefined,
  ): Promise<UsageRecord | undefined>;
}
