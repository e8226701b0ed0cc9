// The customer kind's stored snapshots: what an earlier deployment saved in KV is still resumed,
// upgraded; what this machine cannot resume is refused.
import { MACHINE_VERSION } from '../../actors/customer/index.ts';
import { NewerVersionError } from '../../core/errors.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { customerKind } from '../../actors/customer/kind.ts';
import { SnapshotFormatError } from '../../actors/runtime/errors.ts';
import { fact } from '../runtime/facts.ts';

const T0 = 1_700_000_000_000;
const kind = customerKind();

interface Stored {
  machineVersion: number;
  snapshot: { context: Record<string, unknown> & { targets: Record<string, unknown> } };
}

function storedAfterCreate(id: string): Stored {
  const decided = kind.decide(kind.start(id), { ...fact(id, 1), at: T0 });
  return JSON.parse(JSON.stringify(kind.encode(decided.snapshot))) as Stored;
}

test('a version 1 snapshot (before changes seen on Stripe and before Salesforce) is resumed', () => {
  const id = randomUUID();
  const now = storedAfterCreate(id);
  const { inbound: _inbound, ...context } = now.snapshot.context;
  const { salesforce: _salesforce, ...targets } = now.snapshot.context.targets;
  const v1 = { machineVersion: 1, snapshot: { ...now.snapshot, context: { ...context, targets } } };
  const resumed = kind.decode(id, v1);
  assert.is(resumed.context.desired?.version, 1);
  assert.equal(resumed.context.inbound, now.snapshot.context.inbound, 'knew no Stripe changes');
  assert.is(resumed.context.targets.salesforce.status, 'off');
  assert.equal(resumed.context.targets.stripe, now.snapshot.context.targets.stripe);
});

test('a snapshot of another machine version, another actor or no object is refused', () => {
  const id = randomUUID();
  const now = storedAfterCreate(id);
  const refused = (err: unknown) => err instanceof SnapshotFormatError;
  const newer = (err: unknown) => err instanceof NewerVersionError;
  assert.throws(() => kind.decode(id, { ...now, machineVersion: MACHINE_VERSION + 1 }), newer);
  assert.throws(() => kind.decode(id, { ...now, machineVersion: 0 }), refused);
  assert.throws(() => kind.decode(randomUUID(), now), refused);
  assert.throws(() => kind.decode(id, 'nope'), refused);
});

test.run();
