import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountRecord } from './account-object.ts';
import type { CustomerObject } from './customer-object.ts';
import type { EventObject } from './events.ts';
import type { IdempotencyStore } from './idempotency.ts';
import type { InvoiceObject } from './invoice-object.ts';
import type { InvoiceItemObject } from './invoiceitem-object.ts';
import { searchDoc } from './state.ts';
import type { EmulatorState } from './state.ts';
import type { WebhookEndpointRecord } from './webhook-endpoint.ts';

interface Snapshot {
  version: 1;
  /** Absent from snapshots written before the emulator had an account. */
  account?: AccountRecord;
  customers: CustomerObject[];
  deletedCustomers: string[];
  invoices: InvoiceObject[];
  deletedInvoices: string[];
  invoiceItems: InvoiceItemObject[];
  deletedInvoiceItems: string[];
  events: EventObject[];
  endpoints: WebhookEndpointRecord[];
  idempotency: ReturnType<IdempotencyStore['entries']>;
}

export class SnapshotFormatError extends Error {
  constructor(
    readonly file: string,
    readonly cause: unknown,
  ) {
    super(`cannot read emulator state from ${file}`);
    this.name = 'SnapshotFormatError';
  }
}

export function stateFile(dataDir: string): string {
  return join(dataDir, 'stripe-emulator.json');
}

export function takeSnapshot(state: EmulatorState, keys: IdempotencyStore): Snapshot {
  return {
    version: 1,
    account: state.account,
    customers: state.customers.values(),
    deletedCustomers: [...state.deletedCustomers],
    invoices: state.invoices.values(),
    deletedInvoices: [...state.deletedInvoices],
    invoiceItems: state.invoiceItems.values(),
    deletedInvoiceItems: [...state.deletedInvoiceItems],
    events: state.events.values(),
    endpoints: state.endpoints.values(),
    idempotency: keys.entries(),
  };
}

/**
 * Loads a saved state; a missing file is an empty account, a corrupt one is an error. Answers the
 * saved account, if the file held one.
 */
export function restoreSnapshot(
  file: string,
  state: EmulatorState,
  keys: IdempotencyStore,
): AccountRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let snap: Snapshot;
  try {
    snap = JSON.parse(text) as Snapshot;
  } catch (cause) {
    throw new SnapshotFormatError(file, cause);
  }
  if (snap.account) state.account = snap.account;
  snap.customers.forEach((c) => state.customers.put(c));
  snap.invoices.forEach((i) => state.invoices.put(i));
  snap.invoiceItems.forEach((i) => state.invoiceItems.put(i));
  snap.events.forEach((e) => state.events.put(e));
  snap.endpoints.forEach((e) => state.endpoints.put(e));
  snap.deletedCustomers.forEach((id) => state.deletedCustomers.add(id));
  snap.deletedInvoices.forEach((id) => state.deletedInvoices.add(id));
  snap.deletedInvoiceItems.forEach((id) => state.deletedInvoiceItems.add(id));
  // What was saved had long been searchable.
  const lag = state.search.lagMs;
  state.search.lagMs = 0;
  snap.customers.forEach((c) => state.search.upsert(c.id, searchDoc(c)));
  state.search.lagMs = lag;
  keys.load(snap.idempotency);
  return snap.account;
}

/**
 * Writes the whole state after a quiet period, never per request: serialising everything costs
 * O(state). Each write goes to a temporary file renamed over the old one, so a crash leaves
 * either the old or the new state.
 */
export class SnapshotWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private closed = false;
  private lastWriteMs = 0;

  constructor(
    private readonly dataDir: string,
    private readonly snapshot: () => unknown,
    private readonly debounceMs: number,
  ) {}

  schedule(): void {
    this.dirty = true;
    if (this.closed || this.timer !== undefined || this.writing !== undefined) return;
    // A large state takes a while to serialise, blocking requests; spacing writes at ten times
    // the last write's cost keeps that under a tenth of the time under sustained load.
    this.timer = setTimeout(
      () => void this.write(),
      Math.max(this.debounceMs, this.lastWriteMs * 10),
    );
  }

  /**
   * Writes what is left, once. A write in flight that finds more to save schedules no other once
   * closed: a timer left behind would write after the close, racing the next writer of the folder.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.dirty) await this.write();
  }

  private async write(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
    this.writing = this.writeFile();
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
    if (this.dirty) this.schedule();
  }

  private async writeFile(): Promise<void> {
    const file = stateFile(this.dataDir);
    const temp = `${file}.${process.pid}.tmp`;
    try {
      const started = performance.now();
      const text = JSON.stringify(this.snapshot());
      this.lastWriteMs = performance.now() - started;
      await mkdir(this.dataDir, { recursive: true });
      await writeFile(temp, text);
      await rename(temp, file);
    } catch (error) {
      this.dirty = true;
      console.error('stripe emulator: could not save state', error);
    }
  }
}
