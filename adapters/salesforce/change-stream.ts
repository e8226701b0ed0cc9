// A subscription to an object's Change Data Capture channel through jsforce's streaming (faye)
// client, with replay -1 (new events only), that can be closed at any moment. faye's
// `disconnect()` does nothing until a handshake has succeeded: a client closed while it
// handshakes, or while it retries a handshake against an org it cannot reach, would go on by
// itself, subscribe, hold a CometD session that delivers events to nobody (each counted against
// the org's daily event allocation), and keep a stopped process alive with its retries. So once
// closed, the client sends nothing but its disconnect, and disconnects as soon as faye lets it.
import type { Connection } from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';

export interface ChangeStreamOptions {
  /** A change event arrived (never after `close`), as faye hands it over. */
  readonly onEvent: (event: unknown) => void;
  /**
   * Salesforce ended the session and said not to reconnect (a token expired or revoked, the
   * org's daily event allocation spent), with its message.
   */
  readonly onAuthFailure: (message: { error?: string } | undefined) => void;
}

export interface ChangeStream {
  /**
   * Settles once Salesforce acknowledged the subscription; rejects with its error, or with
   * `ChangeStreamClosed` when closed first.
   */
  readonly subscribed: Promise<void>;
  close(): Promise<void>;
}

export class ChangeStreamClosed extends Error {
  readonly code = 'CHANGE_STREAM_CLOSED';
  constructor(channel: string) {
    super(`the subscription to ${channel} was closed before Salesforce acknowledged it`);
    this.name = 'ChangeStreamClosed';
  }
}

/** The part of faye's client used here; faye ships no types. */
interface FayeClient {
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<unknown>;
  disconnect(): PromiseLike<unknown> | undefined;
}

interface BayeuxMessage {
  channel: string;
}

const DISCONNECT = '/meta/disconnect';

export function openChangeStream(
  conn: Connection,
  channel: string,
  o: ChangeStreamOptions,
): ChangeStream {
  let closed = false;
  let markClosed = () => {};
  const closing = new Promise<void>((resolve) => (markClosed = resolve));
  const disconnect = () => Promise.resolve(client.disconnect()).catch(() => undefined);
  // Added first, so that nothing of a closed client reaches the wire.
  const gate = {
    outgoing(message: BayeuxMessage, pass: (m: BayeuxMessage | null) => void) {
      if (!closed || message.channel === DISCONNECT) return pass(message);
      // A handshake that succeeded after the close is what lets faye disconnect now.
      queueMicrotask(() => void disconnect());
      pass(null);
    },
  };
  const client = conn.streaming.createClient([
    gate,
    new StreamingExtension.Replay(channel, -1),
    new StreamingExtension.AuthFailure((message: { error?: string } | undefined) =>
      o.onAuthFailure(message),
    ),
  ]) as unknown as FayeClient;
  const acknowledged = Promise.resolve(
    client.subscribe(channel, (event) => {
      if (!closed) o.onEvent(event);
    }),
  ).then(() => undefined);
  const closedFirst = closing.then(() => Promise.reject(new ChangeStreamClosed(channel)));
  return {
    subscribed: Promise.race([acknowledged, closedFirst]),
    async close() {
      if (closed) return;
      closed = true;
      markClosed();
      await disconnect();
    },
  };
}
