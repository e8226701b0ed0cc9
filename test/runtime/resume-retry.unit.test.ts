// A partition's resume that fails (NATS electing a leader mid-failover) is run again until a
// round completes, while the partition is held; once it is not, the next holder resumes it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resumeUntilDone } from '../../deploy/wiring/worker/resume.ts';

test('a failed round is retried with backoff until one completes', async () => {
  let rounds = 0;
  const waits: number[] = [];
  await resumeUntilDone(
    async () => {
      if (++rounds < 3) throw new Error('timeout');
    },
    { partition: 4, holds: () => true, onError: (_, ms) => waits.push(ms), firstDelayMs: 5 },
  );
  assert.is(rounds, 3);
  assert.equal(waits, [5, 10]);
});

test('a partition given up stops the retries', async () => {
  let held = true;
  let rounds = 0;
  await resumeUntilDone(
    async () => {
      rounds++;
      held = false;
      throw new Error('timeout');
    },
    {
      partition: 4,
      holds: () => held,
      onError: () => assert.unreachable('not logged'),
      firstDelayMs: 5,
    },
  );
  assert.is(rounds, 1);
});

test.run();
