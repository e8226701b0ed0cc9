// Replaying change events with jsforce's Replay extension: -2, a stored replay id after a
// reconnect, a lost CometD session, ids past retention, and restarts with the same dataDir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { header, refusal, sleep, streamingScenario, StreamingExtension } from './streaming.ts';

const CHANNEL = '/data/AccountChangeEvent';
const invalidReplay = (id: number): string =>
  `400::The replayId {${id}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;

test('-2 replays every retained event; a stored id resumes after it on a new client', () =>
  streamingScenario(async ({ conn, subscribe }) => {
    for (const name of ['One', 'Two', 'Three'])
      await conn.sobject('Account').create({ Name: name });
    const first = await subscribe(CHANNEL, -2);
    const replayed = await first.inbox.waitFor(3);
    assert.equal(
      replayed.map((e) => header(e).changeType),
      ['CREATE', 'CREATE', 'CREATE'],
    );
    const ids = first.inbox.replayIds();
    assert.equal(
      ids,
      [...ids].sort((a, b) => a - b),
      'in replay id order',
    );
    await first.client.disconnect();

    await conn.sobject('Account').create({ Name: 'Four' });
    await conn.sobject('Account').create({ Name: 'Five' });
    const second = await subscribe(CHANNEL, ids[2]);
    const resumed = await second.inbox.waitFor(2);
    assert.equal(
      resumed.map((e) => e.payload.Name),
      ['Four', 'Five'],
    );
    assert.ok(resumed[0]!.event.replayId > ids[2]!);

    const fresh = await subscribe(CHANNEL, -1);
    await conn.sobject('Account').create({ Name: 'Six' });
    await fresh.inbox.waitFor(1);
    await sleep(50);
    assert.equal(
      fresh.inbox.events.map((e) => e.payload.Name),
      ['Six'],
      '-1: only what is published after the subscribe',
    );
  }));

test('a lost CometD session: faye handshakes again and resumes after the last event it saw', () =>
  streamingScenario(async ({ emulator, conn, subscribe, control }) => {
    const { inbox } = await subscribe(CHANNEL, -1);
    await conn.sobject('Account').create({ Name: 'Before' });
    await inbox.waitFor(1);
    assert.is(emulator.stats().events.streamingClients, 1);
    // In one tick, so that the client cannot be back before: only a replay can bring this one.
    assert.is(emulator.dropStreamingClients(), 1);
    emulator.createAsPerson('Account', { Name: 'While away' });
    await inbox.waitFor(2);
    const dropped = await control('POST', '/streaming/drop');
    assert.equal(await dropped.json(), { dropped: 1 });
    await conn.sobject('Account').create({ Name: 'After' });
    await inbox.waitFor(3);
    await sleep(100);
    assert.equal(
      inbox.events.map((e) => e.payload.Name),
      ['Before', 'While away', 'After'],
      'each once, in order',
    );
    assert.is(emulator.stats().events.streamingClients, 1, 'a new session replaced the old one');
  }));

test('a replay id past retention is refused as Salesforce refuses it; -2 and -1 still work', () =>
  streamingScenario(async ({ emulator, conn, client, subscribe, control }) => {
    await conn.sobject('Account').create({ Name: 'Old' });
    await conn.sobject('Account').create({ Name: 'Older than the outage' });
    const [old, newer] = emulator.changeEvents().map((e) => e.event.replayId);
    const forgot = await control('POST', '/events/forget', { upToReplayId: old });
    assert.equal(await forgot.json(), { forgotten: 1 });
    const stale = client([new StreamingExtension.Replay(CHANNEL, old)]);
    assert.is(await refusal(stale.subscribe(CHANNEL, () => undefined)), invalidReplay(old!));
    const kept = await subscribe(CHANNEL, newer);
    assert.equal(emulator.forgetChangeEvents(), 1, 'the outage outlives retention');
    const late = client([new StreamingExtension.Replay(CHANNEL, newer)]);
    assert.is(await refusal(late.subscribe(CHANNEL, () => undefined)), invalidReplay(newer!));
    const future = client([new StreamingExtension.Replay(CHANNEL, newer! + 1000)]);
    assert.is(
      await refusal(future.subscribe(CHANNEL, () => undefined)),
      invalidReplay(newer! + 1000),
    );

    const all = await subscribe(CHANNEL, -2);
    await conn.sobject('Account').create({ Name: 'New' });
    await all.inbox.waitFor(1);
    await kept.inbox.waitFor(1);
    await sleep(50);
    assert.equal(
      all.inbox.events.map((e) => e.payload.Name),
      ['New'],
      'nothing forgotten comes back',
    );
  }));

test('events outlive their retention on their own', () =>
  streamingScenario(
    async ({ emulator, conn, client }) => {
      await conn.sobject('Account').create({ Name: 'Short-lived' });
      const [event] = emulator.changeEvents();
      await sleep(250);
      assert.equal(emulator.changeEvents(), []);
      const stale = client([new StreamingExtension.Replay(CHANNEL, event!.event.replayId)]);
      assert.is(
        await refusal(stale.subscribe(CHANNEL, () => undefined)),
        invalidReplay(event!.event.replayId),
      );
    },
    { eventRetentionMs: 200 },
  ));

test('retained events and replay ids survive a restart with the same dataDir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sf-emulator-cdc-'));
  try {
    let firstId = 0;
    await streamingScenario(
      async ({ emulator, conn }) => {
        await conn.sobject('Account').create({ Name: 'Saved one' });
        await conn.sobject('Account').create({ Name: 'Saved two' });
        firstId = emulator.changeEvents()[0]!.event.replayId;
      },
      { dataDir },
    );
    await streamingScenario(
      async ({ emulator, conn, subscribe }) => {
        const { inbox } = await subscribe(CHANNEL, firstId);
        await conn.sobject('Account').create({ Name: 'After restart' });
        const events = await inbox.waitFor(2);
        assert.equal(
          events.map((e) => e.payload.Name),
          ['Saved two', 'After restart'],
        );
        assert.is(events[1]!.event.replayId, firstId + 2, 'replay ids go on increasing');
        assert.is(emulator.stats().events.retainedEvents, 3);
      },
      { dataDir },
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
