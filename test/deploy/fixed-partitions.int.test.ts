// RTWS_PARTITIONS is fixed for the life of a deployment: the first start records it, and a start
// or an operator command with another count refuses (exit 2 from the command line), naming the
// count to set, before anything is read or written on the streams. A deployment older than the
// record is recorded with the count its streams' durables show, never another; an operator
// command only reads the record.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { ConfigError } from '../../core/errors.ts';
import { withConnections } from '../../deploy/cli/connections.ts';
import { observe, startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const test = suite('fixed partitions');

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (err: unknown) => err,
  );
}

const recorded = async (t: TestEnvironment) => {
  const o = await observe(t);
  try {
    const rows = await o.sql<{ value: string }[]>`
      SELECT value FROM deployment_settings WHERE name = 'partitions'`;
    return rows[0]?.value;
  } finally {
    await o.close();
  }
};

test('a start with another count than the first refuses, naming the first', async () => {
  const t = await testEnvironment();
  try {
    await withConnections(t.config({ RTWS_PARTITIONS: '4' }), () => Promise.resolve());
    assert.is(await recorded(t), undefined, 'an operator command records nothing');
    const first = await startTestRtws(t, { RTWS_PARTITIONS: '8', RTWS_ROLES: 'api' });
    await first.close();
    assert.is(await recorded(t), '8');
    const again = await startTestRtws(t, { RTWS_PARTITIONS: '8', RTWS_ROLES: 'api' });
    await again.close();
    const err = await refusal(() => startTestRtws(t, { RTWS_PARTITIONS: '16' }));
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /RTWS_PARTITIONS: is 16, .* created with 8/);
    assert.match((err as Error).message, /set RTWS_PARTITIONS=8/);
    const cli = await refusal(() =>
      withConnections(t.config({ RTWS_PARTITIONS: '4' }), () => Promise.resolve()),
    );
    assert.instance(cli, ConfigError, 'an operator command refuses too');
  } finally {
    await t.cleanup();
  }
});

test('a deployment older than the record is recorded with the count its durables show', async () => {
  const t = await testEnvironment();
  try {
    // Its workers made the durables of 8 partitions; nothing is recorded yet.
    const o = await observe(t);
    try {
      const jsm = await jetstreamManager(o.nats);
      await jsm.consumers.add(t.names.streams.changes, {
        durable_name: `${t.names.streams.changes}_customer_p07`,
        ack_policy: AckPolicy.Explicit,
      });
    } finally {
      await o.close();
    }
    const err = await refusal(() => startTestRtws(t, { RTWS_PARTITIONS: '16' }));
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /durables for 8 partitions.*set RTWS_PARTITIONS=8/);
    assert.is(await recorded(t), undefined, 'nothing recorded by a refused start');
    const right = await startTestRtws(t, { RTWS_PARTITIONS: '8', RTWS_ROLES: 'api' });
    await right.close();
    assert.is(await recorded(t), '8');
  } finally {
    await t.cleanup();
  }
});

test.run();
