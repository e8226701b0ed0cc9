// The Streaming API's refusals and special events: bad tokens, unknown channels, the daily
// delivery allocation, and the gap and overflow events Salesforce sends instead of changes.
import { request } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fieldsOf,
  forgedConnection,
  header,
  refusal,
  sleep,
  streamingScenario,
  StreamingExtension,
} from './streaming.ts';

const handshake = [
  {
    channel: '/meta/handshake',
    version: '1.0',
    supportedConnectionTypes: ['long-polling'],
    id: '1',
  },
];

/** The status a WebSocket upgrade request gets, as faye probes before its handshake. */
function websocketProbe(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Connection: 'Upgrade', Upgrade: 'websocket' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the first message an AuthFailure extension is given. */
function authFailure(): { extension: unknown; failed: Promise<Record<string, unknown>> } {
  let report: (message: Record<string, unknown>) => void = () => undefined;
  const failed = new Promise<Record<string, unknown>>((resolve) => (report = resolve));
  return { extension: new StreamingExtension.AuthFailure(report), failed };
}

test('a bad or missing token: 401, handshake denied with the reason under ext.sfdc', () =>
  streamingScenario(async ({ emulator, client }) => {
    const post = (headers: Record<string, string>) =>
      fetch(`${emulator.loginUrl}/cometd/62.0`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(handshake),
      });
    for (const [headers, reason] of [
      [{ Authorization: 'OAuth forged-token' }, '401::Authentication invalid'],
      [{}, '401::Request requires authentication'],
    ] as const) {
      const res = await post(headers);
      assert.is(res.status, 401);
      assert.equal(await res.json(), [
        {
          channel: '/meta/handshake',
          id: '1',
          ext: { sfdc: { failureReason: reason } },
          advice: { reconnect: 'none' },
          error: '403::Handshake denied',
          successful: false,
        },
      ]);
    }
    const { extension, failed } = authFailure();
    const forged = client([extension], forgedConnection(emulator));
    void forged.subscribe('/data/ChangeEvents', () => undefined);
    const message = await failed;
    assert.is(message.channel, '/meta/handshake');
    assert.is(message.error, '403::Handshake denied');
  }));

test('a session whose token expires: the next connect fails with 401::Authentication invalid', () =>
  streamingScenario(async ({ emulator, conn, client }) => {
    const { extension, failed } = authFailure();
    const live = client([extension]);
    await live.subscribe('/data/ChangeEvents', () => undefined);
    emulator.expireTokens();
    // The waiting connect returns with this event; the one after it carries the stale token.
    emulator.createAsPerson('Account', { Name: 'Wakes the connect' });
    const message = await failed;
    assert.is(message.channel, '/meta/connect');
    assert.is(message.error, '401::Authentication invalid');
    assert.equal(message.advice, { reconnect: 'none', interval: 0 });
    assert.ok(conn.accessToken, 'the REST connection is unaffected until its next call');
  }));

test('unknown channels and versions are refused with Salesforce error strings', () =>
  streamingScenario(async ({ emulator, conn, client }) => {
    const faye = client();
    assert.is(
      await refusal(faye.subscribe('/data/LeadChangeEvent', () => undefined)),
      '400::The channel you requested to subscribe to does not exist {/data/LeadChangeEvent}',
    );
    assert.is(
      await refusal(faye.subscribe('/topic/AllAccounts', () => undefined)),
      '400::The channel you requested to subscribe to does not exist {/topic/AllAccounts}',
    );
    const old = await fetch(`${emulator.loginUrl}/cometd/36.0`, {
      method: 'POST',
      headers: { Authorization: `OAuth ${conn.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(handshake),
    });
    assert.is(old.status, 400);
    const [reply] = (await old.json()) as { error: string }[];
    assert.match(reply!.error, /^400::Unsupported API version/);
    assert.is(
      await websocketProbe(`${emulator.loginUrl}/cometd/62.0`),
      400,
      'long polling only: the WebSocket probe is turned down',
    );
  }));

test('the daily delivery allocation: deliveries stop with 403, events are kept for later', () =>
  streamingScenario(
    async ({ emulator, conn, client, subscribe, control }) => {
      const { extension, failed } = authFailure();
      const received: unknown[] = [];
      const faye = client([extension, new StreamingExtension.Replay('/data/ChangeEvents', -1)]);
      await faye.subscribe('/data/ChangeEvents', (data) => received.push(data));
      for (const name of ['One', 'Two', 'Three'])
        await conn.sobject('Account').create({ Name: name });
      const message = await failed;
      assert.is(message.channel, '/meta/connect');
      assert.is(message.error, '403::Organization total events daily limit exceeded');
      assert.is(received.length, 2);
      const limits = await conn.limits();
      assert.equal(limits.DailyDeliveredPlatformEvents, { Max: 2, Remaining: 0 });
      assert.is(emulator.stats().events.retainedEvents, 3, 'publishing goes on');

      const raised = await control('POST', '/events/allocation', { dailyDeliveredEventLimit: 10 });
      assert.is(raised.status, 200);
      const second = emulator.changeEvents()[1]!.event.replayId;
      const later = await subscribe('/data/ChangeEvents', second);
      const [third] = await later.inbox.waitFor(1);
      assert.is(third!.payload.Name, 'Three');
      assert.is(emulator.stats().events.deliveredEvents, 3);
      await control('POST', '/events/allocation/usage', { deliveredEvents: 10 });
      assert.equal((await conn.limits()).DailyDeliveredPlatformEvents, { Max: 10, Remaining: 0 });
    },
    { dailyDeliveredEventLimit: 2 },
  ));

test('gap and overflow events: the header alone, as Salesforce sends them', () =>
  streamingScenario(async ({ emulator, conn, subscribe, control }) => {
    const { id } = await conn.sobject('Account').create({ Name: 'Changed in the database' });
    const { inbox } = await subscribe('/data/ChangeEvents');
    const gap = await control('POST', '/events/gap', {
      entityName: 'Account',
      changeType: 'GAP_UPDATE',
      recordIds: [id],
    });
    assert.is(gap.status, 201);
    const overflow = emulator.emitOverflowEvent({
      entityName: 'Contact',
      changeOrigin: 'com/salesforce/api/rest/62.0;client=rtws',
    });
    const [gapEvent, overflowEvent] = await inbox.waitFor(2);
    assert.equal(overflowEvent, overflow);
    const gapHeader = header(gapEvent!);
    assert.is(gapHeader.changeType, 'GAP_UPDATE');
    assert.equal(gapHeader.recordIds, [id]);
    assert.is(gapHeader.entityName, 'Account');
    assert.is(gapHeader.changeOrigin, '');
    assert.is(gapHeader.commitUser, emulator.personUserId);
    assert.equal(gapHeader.changedFields, []);
    assert.equal(fieldsOf(gapEvent!), {}, 'no record fields: read the record');
    const overflowHeader = header(overflowEvent!);
    assert.is(overflowHeader.changeType, 'GAP_OVERFLOW');
    assert.is(overflowHeader.entityName, 'Contact');
    assert.equal(overflowHeader.recordIds, ['000000000000000AAA']);
    assert.is(overflowHeader.changeOrigin, 'com/salesforce/api/rest/62.0;client=rtws');

    for (const bad of [
      { entityName: 'Account', changeType: 'UPDATE', recordIds: [id] },
      { entityName: 'Account', changeType: 'GAP_DELETE', recordIds: [] },
      { entityName: 'Contact', changeType: 'GAP_DELETE', recordIds: [id] },
      { entityName: 'Lead', changeType: 'GAP_CREATE', recordIds: [id] },
    ]) {
      const res = await control('POST', '/events/gap', bad);
      assert.is(res.status, 400, JSON.stringify(bad));
      assert.is(((await res.json()) as { error: string }).error, 'INVALID_REQUEST');
    }
    await sleep(50);
    assert.is(inbox.events.length, 2);
  }));

test.run();
