// Lets the calls the scheduler makes one customer at a time share sObject Collections requests.
// The scheduler runs at most one intent per customer but many customers at once: a write waits a
// few milliseconds for others to join it (or until 200 are waiting), then the upserts go as one
// Collections upsert and the deletes as one Collections delete, and each caller gets its own
// record's outcome. A few requests go at once; while all are busy, the next batch keeps growing,
// so a slower Salesforce gets fuller requests. Lookups and updates that change nothing Salesforce
// holds do not wait. A write still waiting once its partition lease no longer outlives a call is
// not sent (`stillCallable`): it is tried again, here if the lease is renewed, else by the next
// holder.
import type { Connection } from 'jsforce';
import type { SalesforceOutcomeEvent } from '../../actors/customer/index.ts';
import { MAX_COLLECTION_RECORDS, executeSalesforceBatch, isCollectable } from './batch.ts';
import { classifySalesforceError, type ClassifiedFailure } from './classify.ts';
import { executeSalesforceIntent, movedSinceDecided, needsMovedCheck } from './executor.ts';
import { failedOutcome, type Clock, type SalesforceTarget, type SalesforceWork } from './target.ts';

/** Long enough for the calls the scheduler starts together to meet, short beside a call's cost. */
export const DEFAULT_LINGER_MS = 10;
/** Requests in flight at once; while all are busy, the forming batch keeps growing. */
export const DEFAULT_MAX_REQUESTS = 4;

/** A write that waited for a request past its lease's margin: not sent, and tried again. */
const LATE: ClassifiedFailure = {
  failure: 'target_moved',
  reason: "not sent: it waited for a request past its partition lease's margin",
};

export interface CoalescerOptions {
  /** The session; when it cannot be had, the calls waiting for it fail as `login: …`. */
  readonly connection: () => Promise<Connection>;
  readonly target: SalesforceTarget;
  /** How long the first write of a batch waits for others. Default `DEFAULT_LINGER_MS`. */
  readonly lingerMs?: number;
  /** Records per request; at most, and by default, Salesforce's 200. */
  readonly maxRecords?: number;
  /** Batches sent at once. Default `DEFAULT_MAX_REQUESTS`. */
  readonly maxRequests?: number;
  /**
   * The retry hint of every spent-quota failure, so the target stays paused this long. It is
   * recorded with the outcome, so a replay waits the same. Unset: the actor's default pause.
   */
  readonly quotaPauseMs?: number;
  /**
   * Whether Salesforce's edits are read back (`RTWS_SALESFORCE_POLL_S` > 0). Only then is a push
   * decided earlier checked against the record first (`movedSinceDecided`): without a reader, the
   * edit that would settle a held push never arrives, and the catalogue's values are the ones put
   * back. Default false.
   */
  readonly readsChanges?: boolean;
  readonly now?: Clock;
}

/** How one call is made (see `CallContext` in the intent scheduler). */
export interface SalesforceCallOptions {
  /** Decided long ago, before this worker took the customer over, or a resend after a failure. */
  readonly decidedEarlier?: boolean;
  /**
   * Asked when the write is sent: false once its partition lease no longer outlives a call (a
   * write that waited for a request past that), and the write is reported not sent
   * (`target_moved`, retried with its key), never sent while another worker may hold the customer.
   */
  readonly stillCallable?: () => boolean;
}

interface Waiting {
  readonly work: SalesforceWork;
  readonly resolve: (outcome: SalesforceOutcomeEvent) => void;
  readonly stillCallable?: (() => boolean) | undefined;
}

interface Checking {
  readonly work: SalesforceWork;
  /** The push's held outcome, or undefined when it may go. */
  readonly resolve: (held: SalesforceOutcomeEvent | undefined) => void;
}

class Batch {
  readonly byCustomer = new Map<string, Waiting>();
  timer?: NodeJS.Timeout;
  /** Its linger is over: it goes as soon as a request is free, taking writes until then. */
  due = false;
  /** Settles once every caller in the batch has its outcome. */
  readonly done: Promise<void>;
  settle!: () => void;

  /** `after`: the batch this one must follow, as it carries an earlier write of a customer. */
  constructor(readonly after?: Promise<void>) {
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }
}

export class SalesforceCoalescer {
  private forming: Batch | undefined;
  /** Full batches, oldest first, waiting for a request. */
  private readonly full: Batch[] = [];
  private requests = 0;
  private checking: Checking[] = [];
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly lingerMs: number;
  private readonly maxRecords: number;
  private readonly maxRequests: number;
  private readonly now: Clock;

  constructor(private readonly o: CoalescerOptions) {
    this.lingerMs = o.lingerMs ?? DEFAULT_LINGER_MS;
    this.maxRecords = Math.min(o.maxRecords ?? MAX_COLLECTION_RECORDS, MAX_COLLECTION_RECORDS);
    this.maxRequests = o.maxRequests ?? DEFAULT_MAX_REQUESTS;
    this.now = o.now ?? Date.now;
  }

  /** The work's outcome; never rejects (a failure is an outcome). */
  async execute(
    work: SalesforceWork,
    options: SalesforceCallOptions = {},
  ): Promise<SalesforceOutcomeEvent> {
    if (options.decidedEarlier && this.o.readsChanges && needsMovedCheck(work)) {
      const held = await new Promise<SalesforceOutcomeEvent | undefined>((resolve) => {
        this.checkFirst({ work, resolve });
      });
      if (held) return this.withPause(held);
    }
    const outcome = isCollectable(this.o.target, work)
      ? await new Promise<SalesforceOutcomeEvent>((resolve) => {
          this.join({ work, resolve, stillCallable: options.stillCallable });
        })
      : await this.alone(work);
    return this.withPause(outcome);
  }

  private async alone(work: SalesforceWork): Promise<SalesforceOutcomeEvent> {
    const [outcome] = await this.send([work], async (conn) => [
      await executeSalesforceIntent(conn, work, this.o.target, this.now),
    ]);
    return outcome!;
  }

  /**
   * Pushes that waited are checked together: they gather for the linger, or until a query's worth
   * wait, and one query reads all their records (`movedSinceDecided`). A worker that takes over
   * many customers at once so pays a query per 200 of them, not one each.
   */
  private checkFirst(waiting: Checking): void {
    this.checking.push(waiting);
    if (this.checking.length >= this.maxRecords) this.sendChecks();
    else this.checkTimer ??= setTimeout(() => this.sendChecks(), this.lingerMs);
  }

  private sendChecks(): void {
    clearTimeout(this.checkTimer);
    this.checkTimer = undefined;
    const checking = this.checking.splice(0);
    const works = checking.map((c) => c.work);
    // A read that fails sends nothing: each push fails as the read did, and is retried.
    void this.send(works, (conn) => movedSinceDecided(conn, works, this.o.target, this.now)).then(
      (held) => {
        checking.forEach((c, i) => {
          c.resolve(held[i]);
        });
      },
    );
  }

  private join(waiting: Waiting): void {
    const { customerId } = waiting.work;
    // A customer has one pending intent per target, so this does not happen under the
    // scheduler; should it, the second write goes in the next request, once the first is done.
    const earlier = this.forming?.byCustomer.has(customerId) ? this.forming : undefined;
    if (earlier) this.close(earlier);
    const batch = (this.forming ??= new Batch(earlier?.done));
    batch.byCustomer.set(customerId, waiting);
    if (batch.byCustomer.size >= this.maxRecords) this.close(batch);
    else
      batch.timer ??= setTimeout(() => {
        batch.due = true;
        this.pump();
      }, this.lingerMs);
  }

  /** The forming batch takes no more writes: it waits for a request with the other full ones. */
  private close(batch: Batch): void {
    clearTimeout(batch.timer);
    this.forming = undefined;
    this.full.push(batch);
    this.pump();
  }

  /** Sends full batches, then the forming one once its linger is over, while requests are free. */
  private pump(): void {
    while (this.requests < this.maxRequests) {
      let batch = this.full.shift();
      if (!batch && this.forming?.due) {
        batch = this.forming;
        this.forming = undefined;
      }
      if (!batch) return;
      this.requests++;
      void this.sendBatch(batch).finally(() => {
        this.requests--;
        this.pump();
      });
    }
  }

  private async sendBatch(batch: Batch): Promise<void> {
    await batch.after;
    const now = this.now();
    const waiting: Waiting[] = [];
    for (const w of batch.byCustomer.values()) {
      if (w.stillCallable?.() !== false) waiting.push(w);
      else w.resolve(failedOutcome(w.work.intent, LATE, now));
    }
    if (waiting.length === 0) return batch.settle();
    const works = waiting.map((w) => w.work);
    const outcomes = await this.send(works, (conn) =>
      executeSalesforceBatch(conn, works, this.o.target, this.now),
    );
    waiting.forEach((w, i) => {
      w.resolve(outcomes[i]!);
    });
    batch.settle();
  }

  /** One outcome per work, in order, whatever fails: the login, or the call as a whole. */
  private async send<R>(
    works: readonly SalesforceWork[],
    call: (conn: Connection) => Promise<R[]>,
  ): Promise<(R | SalesforceOutcomeEvent)[]> {
    let conn: Connection;
    try {
      conn = await this.o.connection();
    } catch (err) {
      const { failure, reason } = classifySalesforceError(err);
      return this.failAll(works, { failure, reason: `login: ${reason}` });
    }
    try {
      return await call(conn);
    } catch (err) {
      return this.failAll(works, classifySalesforceError(err));
    }
  }

  private failAll(
    works: readonly SalesforceWork[],
    failure: ClassifiedFailure,
  ): SalesforceOutcomeEvent[] {
    return works.map(({ intent }) => failedOutcome(intent, failure, this.now()));
  }

  private withPause(outcome: SalesforceOutcomeEvent): SalesforceOutcomeEvent {
    const pause = this.o.quotaPauseMs;
    if (pause === undefined || outcome.type !== 'SalesforceCallFailed') return outcome;
    if (outcome.data.failure !== 'rate_limited') return outcome;
    // A refusal of rtws's own budget names its wait: the target then waits for the budget itself.
    if (outcome.data.retryAfterMs !== undefined) return outcome;
    return { ...outcome, data: { ...outcome.data, retryAfterMs: pause } };
  }
}
