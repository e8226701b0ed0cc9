// Resuming a partition's pending intents after a takeover or a restart: each actor is offered as
// this process holds it when it has stepped it since, never as an older snapshot in KV shows it.
// An intent that older snapshot still held would take the place of the one decided since, in the
// scheduler's slot for that customer and target, and the newer one would never run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { customerKind } from '../../actors/customer/kind.ts';
import { pendingIntents, type CustomerSnapshot } from '../../actors/customer/index.ts';
import { partitionOf } from '../../core/subjects.ts';
import { resumePartition } from '../../deploy/wiring/worker/resume.ts';
import { CUSTOMER, created, given, stripeCreated, updated } from '../actors/gwt.ts';
import { MemoryStore } from './memory-snapshot-store.ts';

const PARTITIONS = 16;
const kind = customerKind();

/** The intent each offer carried, by id. */
async function offered(
  store: MemoryStore,
  held: (id: string) => CustomerSnapshot | undefined = () => undefined,
): Promise<string[]> {
  const out: string[] = [];
  await resumePartition(
    {
      store,
      kind,
      partitions: PARTITIONS,
      holds: () => true,
      offer: (_, snapshot) => out.push(...pendingIntents(snapshot).map((d) => d.intent.id)),
      held,
      unreadable: (id) => out.push(`unreadable ${id}`),
    },
    partitionOf(CUSTOMER, PARTITIONS),
  );
  return out;
}

test('an actor stepped since its last save is offered as held, not as KV shows it', async () => {
  // KV holds the actor with its create pending; in memory it has since been created on Stripe and
  // decided its next push, a step not yet saved (write-behind).
  const saved = given(created());
  const stepped = given(created(), stripeCreated('cus_R1'), updated({ name: 'Ada King' }, 2));
  const [inKv] = pendingIntents(saved.snapshot);
  const [decided] = pendingIntents(stepped.snapshot);
  assert.is.not(inKv!.intent.id, decided!.intent.id, 'two different intents');

  const store = new MemoryStore();
  await store.save(CUSTOMER, kind.encode(saved.snapshot), undefined);
  assert.equal(await offered(store), [inKv!.intent.id], 'held nowhere: as KV shows it');
  assert.equal(
    await offered(store, (id) => (id === CUSTOMER ? stepped.snapshot : undefined)),
    [decided!.intent.id],
    'held in memory: the intent decided since',
  );
});

test("an unreadable snapshot is skipped and reported; the round goes on to the partition's others", async () => {
  const store = new MemoryStore();
  const saved = given(created());
  const [pending] = pendingIntents(saved.snapshot);
  // Listed before the readable one, with a context a decode refuses.
  const damaged = 'a0000000-0000-4000-8000-000000000000';
  const stored = kind.encode(saved.snapshot) as { snapshot: { context: object } };
  const context = { ...stored.snapshot.context, customerId: damaged, desired: { fields: 1 } };
  await store.save(damaged, { ...stored, snapshot: { ...stored.snapshot, context } }, undefined);
  await store.save(CUSTOMER, kind.encode(saved.snapshot), undefined);
  assert.equal(await offered(store), [`unreadable ${damaged}`, pending!.intent.id]);
});

test.run();
