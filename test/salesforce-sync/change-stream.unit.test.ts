// The reader of Salesforce's changes, stopped while its Change Data Capture client is still
// handshaking, leaves nothing behind: no session that goes on subscribing by itself, and no
// handshake retried against an org nobody reads any more (which kept a stopped process alive).
// The client is a fake that follows faye's rules where they matter: `disconnect()` does nothing
// until a handshake has succeeded, and every outgoing message passes the extensions in order,
// one an extension drops being never sent.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Connection } from 'jsforce';
import { silentLogger } from '../../core/ports.ts';
import { salesforceChanges } from '../../deploy/wiring/inbound/salesforce-changes.ts';

type Message = { channel: string } & Record<string, unknown>;
type Pass = (message: Message | null) => void;
interface Extension {
  outgoing?: ((m: Message, pass: Pass) => void) | ((m: Message, r: unknown, pass: Pass) => void);
}

class FakeFaye {
  state: 'unconnected' | 'connecting' | 'connected' | 'disconnected' = 'unconnected';
  readonly sent: string[] = [];
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly extensions: Extension[]) {}

  subscribe(_channel: string, _listener: () => void): Promise<void> {
    return new Promise((subscribed) => {
      this.waiting.push(() => this.send({ channel: '/meta/subscribe' }, subscribed));
      if (this.state === 'unconnected') this.handshake();
    });
  }

  disconnect(): Promise<void> | undefined {
    if (this.state !== 'connected') return undefined;
    this.state = 'disconnected';
    this.send({ channel: '/meta/disconnect' });
    return Promise.resolve();
  }

  /** The org answers the handshake: faye is connected, then sends what waited for it. */
  answerHandshake(): void {
    this.state = 'connected';
    for (const send of this.waiting.splice(0)) send();
  }

  /** The handshake failed (the org is unreachable): faye tries it again after `retry`. */
  failHandshake(): void {
    this.state = 'unconnected';
    this.handshake();
  }

  private handshake(): void {
    this.state = 'connecting';
    this.send({ channel: '/meta/handshake' });
  }

  private send(message: Message, answered?: () => void): void {
    let out: Message | null = message;
    for (const e of this.extensions) {
      const fn = e.outgoing;
      if (!fn || !out) continue;
      const pass: Pass = (m) => (out = m);
      // As faye calls them: as methods, with the request only where they take three arguments.
      if (fn.length >= 3)
        (fn as (m: Message, r: unknown, p: Pass) => void).call(e, out, null, pass);
      else (fn as (m: Message, p: Pass) => void).call(e, out, pass);
    }
    if (!out) return;
    this.sent.push(message.channel);
    answered?.();
  }
}

const ticks = () => new Promise((r) => setTimeout(r, 20));

/** A reader with change events on, whose first client is handshaking when this returns. */
async function handshaking() {
  const clients: FakeFaye[] = [];
  const conn = {
    streaming: {
      createClient: (extensions: Extension[]) => {
        const client = new FakeFaye(extensions);
        clients.push(client);
        return client;
      },
    },
  } as unknown as Connection;
  const reader = salesforceChanges({
    sql: undefined as never,
    publisher: undefined as never,
    names: undefined as never,
    log: silentLogger,
    salesforce: {
      connection: () => Promise.resolve(conn),
      target: { object: 'Account', externalIdField: 'Rtws_Id__c' },
      onRemoteDelete: 'unlink',
    },
    // No org yet: each read is a no-op, and the subscription follows the first one.
    org: () => undefined,
    ready: () => false,
    pollS: 3600,
    overlapS: 60,
    changeEvents: true,
  });
  await reader.work.start(0);
  for (let i = 0; i < 50 && clients[0]?.state !== 'connecting'; i++) await ticks();
  const client = clients[0];
  assert.ok(client, 'the reader made a change-event client');
  assert.is(client.state, 'connecting');
  return { reader, client, clients };
}

const test = suite('Salesforce change events: stopping the reader');

test('a client whose handshake succeeds after the stop disconnects, and never subscribes', async () => {
  const { reader, client, clients } = await handshaking();
  await reader.stop();
  client.answerHandshake();
  await ticks();
  assert.not.ok(client.sent.includes('/meta/subscribe'), `sent ${client.sent.join(', ')}`);
  assert.is(client.state, 'disconnected', 'no session is left to the org');
  assert.is(clients.length, 1, 'no client is made after the stop');
});

test('a client whose handshake fails after the stop tries it no more', async () => {
  const { reader, client } = await handshaking();
  await reader.stop();
  const before = client.sent.length;
  client.failHandshake();
  client.failHandshake();
  await ticks();
  assert.equal(client.sent.slice(before), [], 'nothing sent once stopped');
});

test.run();
