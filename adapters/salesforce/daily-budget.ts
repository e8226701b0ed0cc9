// rtws's share of a Salesforce org's daily API allocation, spent by every process together
// (RTWS_SALESFORCE_DAILY_BUDGET). Each REST call is counted in the org's shared record before it
// is sent and refused once it would pass the share; each answer's `Sforce-Limit-Info` sets the
// count again (core/policy/daily-budget.ts). Live changes may spend the whole share; backfills and
// reconciliations stop at BACKFILL_SHARE of it.
//
// The waiting happens before a call is made, where it costs nothing: the scheduler holds the
// target's calls while `allows('live')` is false, and backfills pace themselves on
// `whenAllows('backfill')`. A refusal here is for a call that raced past that check.
//
// Nothing rtws sends while it waits would tell it that the count fell (Salesforce's window is a
// rolling 24 hours), so while calls wait one process reads the count with one cheap call every
// `checkEveryMs`: those reads are the only calls rtws makes beyond its share.
import type { Logger } from '../../core/ports.ts';
import {
  NO_USAGE,
  allows,
  answered,
  budgetOf,
  reserve,
  type CallTicket,
  type Priority,
  type UsageRecord,
  type UsageRecords,
} from '../../core/policy/daily-budget.ts';

export interface DailyBudgetOptions {
  readonly records: UsageRecords;
  /** The part of the org's allocation rtws may spend: 0.5 for `50%`. */
  readonly share: number;
  /** The org the credentials belong to (from the token response: no API call). */
  readonly org: () => Promise<string>;
  /** One cheap call, whose answer tells the count: made while calls wait. */
  readonly check: () => Promise<void>;
  /** Between reads of the count while calls wait. */
  readonly checkEveryMs: number;
  /** The longest a call can be in flight (its timeout, and some). */
  readonly openForMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** `spent`: live calls wait; `live_only`: backfills wait; `unknown`: the count was not read yet. */
export type BudgetState = 'unknown' | 'open' | 'live_only' | 'spent';

export interface DailyBudgetStatus {
  readonly state: BudgetState;
  readonly used: number;
  readonly limit: number;
  /** The calls rtws may have spent in all: share × limit. */
  readonly budget: number;
  /** Past this many, backfills and reconciliations wait. */
  readonly backfillBudget: number;
}

/** A call refused before it was sent: its target waits (classified `rate_limited`). */
export class DailyBudgetSpentError extends Error {
  override readonly name = 'DailyBudgetSpentError';
  readonly errorCode = 'RTWS_DAILY_BUDGET_SPENT';
  /** The caller may try again soon: by then its target waits for the budget before calling. */
  readonly retryAfterMs = 1_000;
}

/** How often a process waiting for the budget reads what the others wrote. */
const REFRESH_MS = 1_000;
/** A waiting caller asks at least this often (the scheduler every 250 ms, backfills every second). */
const WANTED_FOR_MS = 5_000;
/** While the count was never read, a failed read is tried again this soon. */
const UNKNOWN_RETRY_MS = 5_000;
/** A budget reached again this soon after the last warning is logged at debug level. */
const WARN_EVERY_MS = 10 * 60_000;

export class SalesforceDailyBudget {
  private readonly now: () => number;
  private orgId?: Promise<string>;
  private view?: UsageRecord;
  private viewAt = 0;
  private state: BudgetState = 'unknown';
  private warnedAt = -Infinity;
  private wantedAt = 0;
  private watching = false;
  private refreshing?: Promise<void>;
  private stopped = false;
  /** Salesforce answered a check without `Sforce-Limit-Info`: no budget can be kept. */
  private headerless = false;

  constructor(private readonly o: DailyBudgetOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Whether a call of this priority may go now, by the latest count seen; never blocks. */
  allows(priority: Priority): boolean {
    const ok = allows(this.view, this.o.share, priority) || (this.headerless && !this.known());
    if (!ok) {
      this.wantedAt = this.now();
      this.watch();
    } else if (this.now() - this.viewAt > REFRESH_MS) void this.refresh().catch(() => {});
    return ok;
  }

  /**
   * Resolves once a call of this priority may go (or the budget is closed). A count not read yet
   * holds nothing back here (it is read meanwhile): Salesforce out of reach does not stop work
   * that may not need it.
   */
  async whenAllows(priority: Priority): Promise<void> {
    while (!this.stopped && !this.allows(priority) && this.known())
      await new Promise((r) => setTimeout(r, REFRESH_MS));
  }

  status(): DailyBudgetStatus {
    const r = this.view ?? NO_USAGE;
    const { live, backfill } = budgetOf(r.limit, this.o.share);
    return {
      state: this.state,
      used: r.used,
      limit: r.limit,
      budget: live,
      backfillBudget: backfill,
    };
  }

  /**
   * Counts a call about to be sent (`check`: a read of the count, which goes whatever the count;
   * `org`: the org the call's connection is authorised for); rejects with `DailyBudgetSpentError`
   * when it would pass the share.
   */
  async before(o: { check: boolean; org?: string | undefined }): Promise<CallTicket> {
    if (o.org && !this.orgId) this.orgId = Promise.resolve(o.org);
    const org = o.org ?? (await this.org());
    let ticket: CallTicket | undefined;
    const record = await this.o.records.update(org, (r) => {
      const base = r ?? NO_USAGE;
      // A count never read: the call goes, and its answer reads it.
      if (!o.check && base.limit > 0 && !allows(base, this.o.share, 'live')) {
        ticket = undefined;
        return undefined;
      }
      const reserved = reserve(base, this.now(), this.o.openForMs);
      ticket = reserved.ticket;
      return reserved.record;
    });
    this.see(record);
    if (!ticket) {
      const { used, limit, budget } = this.status();
      throw new DailyBudgetSpentError(
        `rtws's share of the org's daily API calls is spent: ${used} of ${limit} used, ${budget} allowed`,
      );
    }
    return ticket;
  }

  /** A counted call's answer, with the count it told (none when the call got no answer). */
  async after(ticket: CallTicket, usage: { used: number; limit: number } | undefined) {
    const org = await this.org();
    const record = await this.o.records.update(org, (r) =>
      answered(r ?? NO_USAGE, ticket, this.now(), this.o.openForMs, usage),
    );
    this.see(record);
  }

  /** Lets every wait return. */
  close(): void {
    this.stopped = true;
  }

  private known(): boolean {
    return (this.view?.limit ?? 0) > 0;
  }

  /** Without the count, calls go as they did without a budget, and the log says why once. */
  private noHeader(): void {
    if (this.headerless) return;
    this.headerless = true;
    this.o.log.warn(
      {},
      "Salesforce: its answers carry no Sforce-Limit-Info, so rtws's daily budget cannot be kept; calls go unchecked",
    );
  }

  private org(): Promise<string> {
    return (this.orgId ??= this.o.org().catch((err: unknown) => {
      this.orgId = undefined;
      throw err;
    }));
  }

  private refresh(): Promise<void> {
    return (this.refreshing ??= (async () => {
      try {
        this.see(await this.o.records.read(await this.org()));
      } finally {
        this.refreshing = undefined;
      }
    })());
  }

  /** While callers wait: reads what the others wrote, and reads the count when it is due. */
  private watch(): void {
    if (this.watching || this.stopped) return;
    this.watching = true;
    void (async () => {
      while (!this.stopped && this.now() - this.wantedAt < WANTED_FOR_MS) {
        try {
          await this.refresh();
          if (await this.claimCheck()) {
            await this.o.check();
            if (!this.known()) this.noHeader();
          }
        } catch (err) {
          this.o.log.debug({ err: String(err) }, 'Salesforce API usage not read; trying again');
        }
        await new Promise((r) => setTimeout(r, REFRESH_MS));
      }
    })().finally(() => {
      this.watching = false;
    });
  }

  /** Whether this process is the one to read the count now (one process per `checkEveryMs`). */
  private async claimCheck(): Promise<boolean> {
    let claimed = false;
    const record = await this.o.records.update(await this.org(), (r) => {
      claimed = this.checkDue(r);
      return claimed ? { ...(r ?? NO_USAGE), checkedAt: this.now() } : undefined;
    });
    this.see(record);
    return claimed;
  }

  private checkDue(r: UsageRecord | undefined): boolean {
    const t = this.now();
    if (!r || r.limit === 0) return t - (r?.checkedAt ?? 0) >= UNKNOWN_RETRY_MS;
    // Answers to live calls keep the count fresh enough while they go.
    const every = this.o.checkEveryMs;
    return t - r.checkedAt >= every && t - r.seenAt >= every;
  }

  private see(r: UsageRecord | undefined): void {
    if (!r) return;
    this.view = r;
    this.viewAt = this.now();
    const next: BudgetState =
      r.limit === 0
        ? 'unknown'
        : !allows(r, this.o.share, 'live')
          ? 'spent'
          : !allows(r, this.o.share, 'backfill')
            ? 'live_only'
            : 'open';
    if (next === this.state) return;
    const was = this.state;
    this.state = next;
    this.logChange(was, next);
  }

  private logChange(was: BudgetState, now: BudgetState): void {
    const { used, limit, budget, backfillBudget } = this.status();
    const numbers = { used, limit, budget, backfillBudget, share: this.o.share };
    if (now === 'spent') {
      const quiet = this.now() - this.warnedAt < WARN_EVERY_MS;
      if (!quiet) this.warnedAt = this.now();
      this.o.log[quiet ? 'debug' : 'warn'](
        numbers,
        `Salesforce: rtws's share of the org's daily API calls is spent (${used} of ${limit} used, ${budget} allowed); Salesforce calls wait until the usage falls`,
      );
    } else if (now === 'live_only')
      this.o.log.info(
        numbers,
        `Salesforce: ${used} of ${limit} daily API calls used; backfills and reconciliations wait, live changes go on`,
      );
    else if (now === 'open' && was !== 'unknown')
      this.o.log.info(
        numbers,
        `Salesforce: ${used} of ${limit} daily API calls used; all calls go`,
      );
  }
}
