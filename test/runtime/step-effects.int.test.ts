// The Postgres writes a step leaves to its effects: carried out once and reported (by the change
// the write captured, which carries its tag, or else by a report of its own), and not again by a
// step decided before the actor has taken that report; after a takeover or a restart they are
// carried out again, as the inbox makes harmless. And the links a step records again, also when
// the step is in the snapshot already and its link never reached Postgres.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { DeadLetter, DeadLetterSink } from '../../core/worker-ports.ts';
import {
  decide,
  pendingApplies,
  start,
  type CustomerEvent,
  type CustomerSnapshot,
} from '../../actors/customer/index.ts';
import type { CustomerScheduler } from '../../actors/customer/kind.ts';
import type { RecordedEvent } from '../../actors/customer/outcome-message.ts';
import { checkMessage } from '../../actors/customer/fact-message.ts';
import type { Names } from '../../core/subjects.ts';
import { outgoing, type OutboxRow } from '../../adapters/postgres/outbox/rows.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { catalogueEffects } from '../../adapters/postgres/catalogue-effects.ts';
import { stripeBornId } from '../../adapters/postgres/stripe-customer-id.ts';
import {
  stepEffects,
  type StepEffects,
  type StepEffectsDeps,
} from '../../deploy/wiring/worker/step-effects.ts';
import { ActorCache } from '../../actors/runtime/actor-cache.ts';
import { applyEvent } from '../../actors/runtime/fact-step.ts';
import { customerKind } from '../../actors/customer/kind.ts';
import { linkOf } from '../../adapters/postgres/links.ts';
import { testEnvironment } from '../harness/rtws.ts';
import { MemoryStore } from './memory-snapshot-store.ts';
import { fact } from './facts.ts';

const T0 = 1_700_000_000_000;

/** The step effects over a database of their own; neither an intent nor a dead letter is reached. */
async function onDatabase(
  run: (
    sql: Sql,
    effectsWith: (
      deps: Pick<StepEffectsDeps, 'catalogue' | 'record'> &
        Partial<Pick<StepEffectsDeps, 'deadLetters'>>,
    ) => StepEffects,
    names: Names,
  ) => Promise<void>,
): Promise<void> {
  const t = await testEnvironment();
  const sql = connectPostgres(t.db.url, { max: 2 });
  try {
    await migrate(sql);
    await run(
      sql,
      (deps) =>
        stepEffects({
          scheduler: { offer: () => {} } as unknown as CustomerScheduler,
          deadLetters: {} as DeadLetterSink,
          names: t.names,
          ...deps,
        }),
      t.names,
    );
  } finally {
    await sql.end({ timeout: 1 });
    await t.cleanup();
  }
}

/**
 * A worker's step on customer `id` and then its effects, as the fact handler runs them, each on a
 * cache of its own: a redelivery after a crash comes to a new process, which starts with none.
 */
function stepper(store: MemoryStore, effects: StepEffects, id: string) {
  return async (event: CustomerEvent, seq: number) => {
    const r = await applyEvent(
      {
        store,
        cache: new ActorCache<CustomerSnapshot>({ maxActors: 10, idleMs: 60_000 }),
        holds: () => true,
        partition: 0,
        kind: customerKind(),
      },
      id,
      event,
    );
    await effects({ actorId: id, event, decision: r.decision, saved: r.saved, seq });
    return r;
  };
}

/** The Stripe create the fact of `id`'s first version decides. */
async function createdOn(step: ReturnType<typeof stepper>, id: string) {
  const created = await step({ ...fact(id, 1), at: T0 }, 1);
  const intent = created.decision.intents.find((i) => i.type === 'CreateStripeCustomer');
  assert.ok(intent, 'the create is decided');
  return intent;
}

/** What a promise's rejection said, or `done`. */
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'done',
    (err: Error) => err.message,
  );

test('a write is carried out once and reported by its captured change; a takeover carries it out again', () =>
  onDatabase(async (sql, effectsWith, names) => {
    const catalogue = catalogueEffects(sql);
    let writes = 0;
    const recorded: RecordedEvent[] = [];
    const effects = effectsWith({
      catalogue: {
        ...catalogue,
        applyFromStripe: (customerId, apply) => {
          writes++;
          return catalogue.applyFromStripe(customerId, apply);
        },
      },
      record: async (_, event) => void recorded.push(event),
    });
    const stripeId = `cus_${randomUUID().slice(0, 8)}`;
    const id = stripeBornId(stripeId);
    const observed: CustomerEvent = {
      type: 'StripeCustomerObserved',
      data: {
        eventId: `evt_${stripeId}`,
        eventType: 'customer.created',
        stripeId,
        created: T0 / 1000,
        key: null,
        fields: { name: 'Born', email: null, phone: null, address: null, metadata: {} },
        rtwsId: null,
      },
      at: T0,
    };
    const step = (snapshot: CustomerSnapshot, event: CustomerEvent, seq: number) =>
      effects({
        actorId: id,
        event,
        decision: { snapshot, intents: [], deadLettered: [], linked: [] },
        saved: true,
        seq,
      });
    const born = decide(start(id), observed).snapshot;
    assert.is(pendingApplies(born).length, 1, 'the insert waits for its write');

    await step(born, observed, 1);
    assert.is(writes, 1);
    assert.equal(recorded, [], 'the change it captured is its report');
    const [row] = await sql<{ name: string; origin: string }[]>`
      SELECT name, origin FROM customers WHERE id = ${id}`;
    assert.equal({ ...row }, { name: 'Born', origin: 'stripe' });

    // Another step decided before that change: the write still waits, and is left to its change.
    await step(born, observed, 2);
    assert.is(writes, 1, 'not carried out again while its report is on its way');
    assert.is(recorded.length, 0);

    // That change, as the publisher sends it: it reports the write done.
    const [captured] = await sql<OutboxRow[]>`SELECT * FROM outbox WHERE customer_id = ${id}`;
    const message = JSON.parse(new TextDecoder().decode(outgoing(captured!, names).payload));
    const fact = checkMessage(message, id, T0 + 1);
    assert.ok(fact.ok, 'a captured change the actor takes');
    assert.equal(pendingApplies(decide(born, fact.event).snapshot), [], 'the write is done');

    // The same change published by an rtws from before tags (a rolling upgrade): the step that
    // takes it carries the write out again, a no-op that captures nothing, and reports it.
    const { write: _tag, ...untaggedMetadata } = message.metadata as Record<string, unknown>;
    const untagged = checkMessage({ ...message, metadata: untaggedMetadata }, id, T0 + 1);
    assert.ok(untagged.ok);
    const behind = decide(born, untagged.event).snapshot;
    assert.is(pendingApplies(behind).length, 1, 'still waiting: nothing named the write');
    await step(behind, untagged.event, 3);
    assert.is(writes, 2);
    const versions = () =>
      recorded.map((e) => [e.type, (e.data as { version: number | null }).version]);
    assert.equal(versions(), [['CatalogueApplied', 1]]);

    // A takeover or a restart: carried out again, and the inbox makes it a no-op, which captures
    // nothing, so it is reported by a message of its own.
    await effects.resume(id, born);
    assert.is(writes, 3);
    assert.equal(versions(), [
      ['CatalogueApplied', 1],
      ['CatalogueApplied', 1],
    ]);
    const rows = await sql`SELECT 1 FROM customers WHERE id = ${id}`;
    assert.is(rows.length, 1);
  }));

test("a restore's re-inserted row gets every link its actor knows; an insert from a target, none again; a redelivery, its own", () =>
  onDatabase(async (sql, effectsWith) => {
    const linked: string[] = [];
    const effects = effectsWith({
      catalogue: {
        ...catalogueEffects(sql),
        recordLink: async (_, target, externalId) => void linked.push(`${target}:${externalId}`),
      },
      record: async () => {},
    });
    const id = randomUUID();
    const fresh = start(id);
    const knows: CustomerSnapshot = {
      ...fresh,
      context: {
        ...fresh.context,
        targets: {
          stripe: { ...fresh.context.targets.stripe, externalId: 'cus_restored' },
          salesforce: { ...fresh.context.targets.salesforce, externalId: '001RESTORED' },
        },
      },
    };
    const created = (origin: string, seq: number) =>
      effects({
        actorId: id,
        event: {
          type: 'CustomerCreated',
          data: { name: 'Back', email: null, phone: null, address: null, metadata: {} },
          metadata: {
            customer_id: id,
            version: 2,
            origin,
            outbox_id: seq,
            occurred_at: new Date(T0).toISOString(),
          },
          at: T0,
        },
        decision: { snapshot: knows, intents: [], deadLettered: [], linked: [] },
        saved: true,
        seq,
      });
    await created('stripe', 1);
    assert.equal(linked, [], 'an insert from Stripe wrote its link with the row');
    await created('restore', 2);
    assert.equal(linked.sort(), ['salesforce:001RESTORED', 'stripe:cus_restored']);

    // A Stripe outcome delivered again, changing nothing: only its own target's link is written,
    // as another's may have been archived since.
    linked.length = 0;
    await effects({
      actorId: id,
      event: {
        type: 'StripeCustomerCreated',
        data: { intentId: 'x', externalId: 'cus_x' },
        at: T0,
      },
      decision: { snapshot: knows, intents: [], deadLettered: [], linked: [] },
      saved: false,
      seq: 3,
    });
    assert.equal(linked, ['stripe:cus_restored'], "the snapshot's Stripe link only");

    // A Salesforce read that linked our create, delivered again (or tried again in hand after
    // its link's insert failed): the snapshot's Salesforce link, and no other.
    linked.length = 0;
    await effects({
      actorId: id,
      event: {
        type: 'SalesforceRecordChanged',
        data: {
          eventId: 'salesforce:001RESTORED:1',
          recordId: '001RESTORED',
          fields: {},
          modifiedAt: T0,
          byUs: true,
        },
        at: T0,
      },
      decision: { snapshot: knows, intents: [], deadLettered: [], linked: [] },
      saved: false,
      seq: 4,
    });
    assert.equal(linked, ['salesforce:001RESTORED'], "the snapshot's Salesforce link only");
  }));

test('a create saved before its link was written: the redelivered outcome writes the link', () =>
  onDatabase(async (sql, effectsWith) => {
    const catalogue = catalogueEffects(sql);
    let refuse = true;
    const effects = effectsWith({
      catalogue: {
        ...catalogue,
        // The process dies, or Postgres is away, between the step's save and its link's insert.
        recordLink: async (...args) => {
          if (refuse) throw new Error('connection terminated');
          return catalogue.recordLink(...args);
        },
      },
      record: async () => {},
    });
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO customers (name) VALUES ('Linked') RETURNING id`;
    const id = row!.id;
    const step = stepper(new MemoryStore(), effects, id);
    const intent = await createdOn(step, id);
    const outcome: CustomerEvent = {
      type: 'StripeCustomerCreated',
      data: { intentId: intent.id, externalId: 'cus_linked' },
      at: T0 + 1,
    };
    assert.is(await refusal(step(outcome, 2)), 'connection terminated', 'the link insert failed');
    assert.is(await linkOf(sql, id, 'stripe'), undefined, 'saved, but the link is not written');

    // The outcome is delivered again: the snapshot has it, so the step changes nothing.
    refuse = false;
    const again = await step(outcome, 2);
    assert.not.ok(again.saved, 'the step was in the snapshot already');
    assert.is(await linkOf(sql, id, 'stripe'), 'cus_linked', 'the link the snapshot holds');
  }));

test('a target given up on before its letter was published: the redelivered failure publishes it', () =>
  onDatabase(async (sql, effectsWith) => {
    const letters: DeadLetter[] = [];
    let refuse = true;
    const effects = effectsWith({
      catalogue: catalogueEffects(sql),
      record: async () => {},
      // The process dies, or NATS is away, between the step's save and its letter.
      deadLetters: {
        publish: async (letter) => {
          if (refuse) throw new Error('disconnected');
          letters.push(letter);
        },
      },
    });
    /** A customer whose Stripe create is refused for good at `at`, its letter not published. */
    const givenUp = async (at: number) => {
      const id = randomUUID();
      const step = stepper(new MemoryStore(), effects, id);
      const intent = await createdOn(step, id);
      const failure: CustomerEvent = {
        type: 'StripeCallFailed',
        data: {
          intentId: intent.id,
          failure: 'permanent',
          reason: 'HTTP 400: invalid_request_error: Invalid email address',
          attempt: 1,
        },
        at,
      };
      refuse = true;
      assert.is(await refusal(step(failure, 2)), 'disconnected', 'the letter was not published');
      refuse = false;
      return { id, step, failure };
    };

    const { id, step, failure } = await givenUp(Date.now());
    const again = await step(failure, 2);
    assert.not.ok(again.saved, 'the step was in the snapshot already');
    assert.is(letters.length, 1, 'the letter, published by the redelivery');
    assert.is(letters[0]!.streamSeq, 2, "the failure's own message: its id dedupes a second");
    assert.is(letters[0]!.reason, 'stripe: HTTP 400: invalid_request_error: Invalid email address');
    // Other messages that change nothing publish no letter: the fact before it, delivered again.
    await step({ ...fact(id, 1), at: Date.now() }, 1);
    assert.is(letters.length, 1, 'only the failure that gave up leaves the letter');

    // A target found unlinked leaves its letter the same way.
    const unlinked = again.decision.snapshot;
    const stripe = { ...unlinked.context.targets.stripe, status: 'unlinked' as const };
    const targets = { ...unlinked.context.targets, stripe };
    await effects({
      actorId: id,
      event: failure,
      decision: {
        snapshot: { ...unlinked, context: { ...unlinked.context, targets } },
        intents: [],
        deadLettered: [],
        linked: [],
      },
      saved: false,
      seq: 2,
    });
    assert.is(letters.length, 2, 'an unlinked target: its letter');

    // Delivered again past the DLQ's dedupe window (after a takeover, from the ack floor): still
    // owed. Whether it was stored before (and discarded since) is the worker's letter ledger's to
    // tell (letter-ledger.int.test.ts).
    const late = await givenUp(Date.now() - 150_000);
    await late.step(late.failure, 2);
    assert.is(letters.length, 3, 'the letter of a redelivery past the dedupe window');
    assert.is(letters[2]!.key, 'stripe', 'named by its target: a step may leave two');
  }));

test.run();
