// The emulator's state file is written after a quiet period. A close must leave no write behind:
// a timer that fired after it would race the next emulator on the same folder.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotWriter } from '../../adapters/emulators/stripe/persistence.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a change during the last write is saved by close, and nothing is written after it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-writer-'));
  try {
    let state = 1;
    let snapshots = 0;
    let closing: Promise<void> | undefined;
    const writer = new SnapshotWriter(
      dir,
      () => {
        snapshots++;
        // While the first write waits on the disk: a change, then the close.
        if (snapshots === 1)
          setImmediate(() => {
            state = 2;
            writer.schedule();
            closing = writer.close();
          });
        return { state };
      },
      20,
    );
    writer.schedule();
    while (!closing) await sleep(5);
    await closing;
    const written = snapshots;
    const saved = JSON.parse(await readFile(join(dir, 'stripe-emulator.json'), 'utf8')) as {
      state: number;
    };
    assert.is(saved.state, 2, 'close saved the latest state');
    await sleep(300);
    assert.is(snapshots, written, 'no write after close');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
