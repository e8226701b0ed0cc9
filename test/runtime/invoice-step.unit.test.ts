// The runtime's step and scheduler over the invoice actor: the same code as for customers, with the
// invoice kind. Snapshots are saved and checked like a customer's; the scheduler runs the pending
// intent once, under the lease of the invoice's customer. A failure saved before its letter was
// published leaves the letter when it is delivered again.
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
import { names } from '../../core/subjects.ts';
import type { DeadLetter } from '../../core/worker-ports.ts';
import { invoiceStepEffects } from '../../deploy/wiring/invoices/invoice-effects.ts';
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

test("an invoice's metadata with the keys XState takes for a spawned actor is kept as it is", async () => {
  const store = new MemoryStore();
  const metadata = { order: 'A-17', ref: 'r-1', send: 'post', sessionId: 's-9' };
  const event = request();
  const withKeys = { ...event, data: { ...event.data, metadata } } as InvoiceEvent;
  assert.ok((await applyEvent(deps(store), INVOICE, withKeys)).saved);
  const stored = JSON.parse(JSON.stringify(store.entries.get(INVOICE)!.value)) as unknown;
  assert.equal(kind.decode(INVOICE, stored).context.request?.metadata, metadata);
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

test('an invoice given up on before its letter was published: the redelivered failure publishes it', async () => {
  const store = new MemoryStore();
  const letters: DeadLetter[] = [];
  let refuse = true;
  const effects = invoiceStepEffects({
    offer: () => {},
    names: names('', 4),
    // The process dies, or NATS is away, between the step's save and its letter.
    deadLetters: {
      publish: async (letter) => {
        if (refuse) throw new Error('disconnected');
        letters.push(letter);
      },
    },
  });
  // Each step on a cache of its own, as a new process after a crash starts with none.
  const step = async (event: InvoiceEvent, seq: number) => {
    const r = await applyEvent(deps(store), INVOICE, event);
    await effects({ actorId: INVOICE, event, decision: r.decision, saved: r.saved, seq });
    return r;
  };
  const requested = await step(request(), 1);
  const lookup = requested.decision.intents[0]!;
  const linked = await step(
    {
      type: 'StripeLinkFound',
      data: { intentId: lookup.id, stripeCustomerId: 'cus_A1' },
      at: T0 + 1,
    },
    2,
  );
  const draft = linked.decision.intents[0]!;
  assert.is(draft.type, 'CreateStripeInvoice');
  const failure: InvoiceEvent = {
    type: 'InvoiceCallFailed',
    data: {
      intentId: draft.id,
      failure: 'permanent',
      reason: 'HTTP 400: invalid_request_error: No such customer',
      attempt: 1,
    },
    at: Date.now(),
  };
  const first = await step(failure, 3).then(
    () => 'done',
    (err: Error) => err.message,
  );
  assert.is(first, 'disconnected', 'the letter was not published');

  refuse = false;
  const again = await step(failure, 3);
  assert.not.ok(again.saved, 'the step was in the snapshot already');
  assert.is(letters.length, 1, 'the letter, published by the redelivery');
  assert.is(letters[0]!.streamSeq, 3, "the failure's own message: its id dedupes a second");
  assert.is(letters[0]!.key, 'stripe', 'named by its target, apart from a whole message');
  assert.match(letters[0]!.reason, /No such customer/);
  await step(request(), 1);
  assert.is(letters.length, 1, 'only the failure that gave up leaves the letter');

  // The same failure, made 150 s ago and delivered again past the DLQ's dedupe window (a
  // takeover, from the ack floor): its letter is still owed. Whether it was stored before (and
  // discarded since) is the worker's letter ledger's to tell (letter-ledger.int.test.ts).
  const old = Date.now() - 150_000;
  const context = again.decision.snapshot.context;
  await effects({
    actorId: INVOICE,
    event: { ...failure, at: old },
    decision: {
      ...again.decision,
      snapshot: {
        ...again.decision.snapshot,
        context: { ...context, lastError: { ...context.lastError!, at: old } },
      },
    },
    saved: false,
    seq: 4,
  });
  assert.is(letters.length, 2, 'the letter of a redelivery past the dedupe window');
  assert.is(letters[1]!.streamSeq, 4);
});

test('a void of an invoice created in Stripe, given up on, leaves a letter on its customer', async () => {
  const store = new MemoryStore();
  const letters: DeadLetter[] = [];
  const n = names('', 4);
  const effects = invoiceStepEffects({
    offer: () => {},
    names: n,
    deadLetters: { publish: async (letter) => void letters.push(letter) },
  });
  const step = async (event: InvoiceEvent, seq: number) => {
    const r = await applyEvent(deps(store), INVOICE, event);
    await effects({ actorId: INVOICE, event, decision: r.decision, saved: r.saved, seq });
    return r;
  };
  const asked = await step(
    {
      type: 'InvoiceVoidRequested',
      data: { stripeInvoiceId: 'in_S', stripeStatus: 'open', customerId: CUSTOMER },
      at: T0,
    },
    1,
  );
  const call = asked.decision.intents[0]!;
  assert.is(call.type, 'VoidStripeInvoice');
  await step(
    {
      type: 'InvoiceCallFailed',
      data: {
        intentId: call.id,
        failure: 'permanent',
        reason: 'HTTP 400: invoice_unexpected_state',
        attempt: 1,
      },
      at: T0 + 1,
    },
    2,
  );
  assert.is(letters.length, 1);
  assert.is(letters[0]!.subject, n.invoiceSubject(INVOICE, CUSTOMER));
  assert.match(letters[0]!.reason, /VoidStripeInvoice: HTTP 400/);
});

test.run();
