// RTWS_PARTITIONS is fixed for the life of a deployment: the first start records it, and a start
// or an operator command with another count refuses (exit 2 from the command line), naming the
// count to set, before anything is read or written on the streams.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../core/errors.ts';
import { withConnections } from '../../deploy/cli/connections.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const test = suite<{ t?: TestEnvironment }>('fixed partitions');

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
});
test.after(async (ctx) => {
  await ctx.t?.cleanup();
});

async function refusal(run: () => Promise<unknown>): Promise<unknown> {
  return run().then(
    () => undefined,
    (err: unknown) => err,
  );
}

test('a start with another count than the first refuses, naming the first', async (ctx) => {
  const t = ctx.t!;
  const first = await startTestRtws(t, { RTWS_PARTITIONS: '8', RTWS_ROLES: 'api' });
  await first.close();
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
});

test.run();
