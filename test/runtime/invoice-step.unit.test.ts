// The runtime's step and scheduler over the invoice actor: the same code as for customers, with the
// invoice kind. Snapshots are saved and checked like a customer's; the scheduler runs the pending
// intent once, under the lease of the invoice's customer.
import { NewerVersionError } from '../../core/errors.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../../core/ports.ts';
import {
  type InvoiceDecision,
  type InvoiceEvent,
  type InvoiceIntent,
  type InvoiceRecordedEvent,
  type InvoiceSnapshot,
  type InvoiceTarget,
} from '../../actors/invoice/index.ts';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';
import { SnapshotFormatError } from '../../actors/runtime/errors.ts';
import { applyEvent, type FactStepDeps } from '../../actors/runtime/fact-step.ts';
import { IntentScheduler } from '../../actors/runtime/intent-scheduler.ts';
import { invoiceKind } from '../../actors/invoice/kind.ts';
import { CUSTOMER, INVOICE, REQUEST } from '../invoices/gwt.ts';
import { MemoryStore } from './memory-snapshot-store.ts';

const T0 = 1_700_000_000_000;
const kind = invoiceKind();

const request = (at = T0): InvoiceEvent => ({
  type: 'InvoiceRequested',
  data: { id: INVOICE, ...REQUEST },
  metadata: { origin: 'api', version: 1, outbox_id: 1, occurred_at: new Date(at).toISOString() },
  at,
});

function deps(store: MemoryStore): FactStepDeps<InvoiceSnapshot, InvoiceEvent, InvoiceDecision> {
  return {
    store,
    cache: new ActorCache<InvoiceSnapshot>({ maxActors: 10, idleMs: 60_000 }),
    holds: () => true,
    partition: 0,
    kind,
  };
}

test('a request creates the invoice actor, saves it, and a redelivery saves nothing', async () => {
  const store = new MemoryStore();
  const d = deps(store);
  const first = await applyEvent(d, INVOICE, request());
  assert.ok(first.saved);
  assert.is(first.decision.intents[0]?.type, 'FindStripeLink');
  const again = await applyEvent(deps(store), INVOICE, request(T0 + 5_000));
  assert.not.ok(again.saved);
  assert.is(store.saves, 1);
  const stored = kind.decode(INVOICE, store.entries.get(INVOICE)!.value);
  assert.is(stored.context.request?.customer_id, CUSTOMER);
  assert.is(kind.ownerOf(INVOICE, stored), CUSTOMER, 'its partition is its customer’s');
});

const refused = (err: unknown) => err instanceof SnapshotFormatError;

test('a foreign or damaged stored invoice is refused, not resumed', () => {
  const stored = kind.encode(kind.decide(kind.start(INVOICE), request()).snapshot) as {
    machineVersion: number;
    snapshot: { context: Record<string, unknown> };
  };
  assert.throws(() => kind.decode('another-invoice', stored), refused);
  assert.throws(() => kind.decode(INVOICE, { ...stored, machineVersion: 0 }), refused);
  assert.throws(
    () => kind.decode(INVOICE, { ...stored, machineVersion: 99 }),
    (e: unknown) => e instanceof NewerVersionError,
  );
  const damaged = {
    ...stored,
    snapshot: { ...stored.snapshot, context: { ...stored.snapshot.context, status: 'lost' } },
  };
  assert.throws(() => kind.decode(INVOICE, damaged), refused);
});

test('the scheduler runs the pending intent once and records it under the customer’s lease', async () => {
  const snapshot = kind.decide(kind.start(INVOICE), request(Date.now())).snapshot;
  const calls: InvoiceIntent[] = [];
  const recorded: { id: string; event: InvoiceRecordedEvent; owner: string }[] = [];
  const asked: string[] = [];
  const scheduler = new IntentScheduler<
    InvoiceSnapshot,
    InvoiceTarget,
    InvoiceIntent,
    InvoiceRecordedEvent
  >({
    targets: {
      links: {
        limits: { concurrency: 1 },
        async execute(_id, intent) {
          calls.push(intent);
          return {
            type: 'StripeLinkMissing',
            data: { intentId: intent.id, attempt: intent.attempt },
            at: Date.now(),
          };
        },
      },
    },
    record: async (id, event, owner) => void recorded.push({ id, event, owner }),
    holds: (owner) => (asked.push(owner), true),
    now: Date.now,
    log: silentLogger,
    kind,
  });
  scheduler.offer(INVOICE, snapshot);
  scheduler.offer(INVOICE, snapshot);
  await new Promise((r) => setTimeout(r, 50));
  await scheduler.stop();
  assert.is(calls.length, 1);
  assert.equal(
    recorded.map((r) => [r.id, r.event.type, r.owner]),
    [[INVOICE, 'StripeLinkMissing', CUSTOMER]],
  );
  assert.ok(asked.every((o) => o === CUSTOMER));
});

test.run();
