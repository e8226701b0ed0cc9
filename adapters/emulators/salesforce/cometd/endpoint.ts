// The Streaming API's CometD endpoint, `POST /cometd/{version}`: Bayeux handshake, long-polling
// connect, subscribe with the replay extension, unsubscribe and disconnect, authenticated on every
// request by the session token in `Authorization`, as REST is.
import type { TokenIssuer } from '../auth.ts';
import type { ChangeDataCapture } from '../cdc/index.ts';
import type { Reply } from '../http.ts';
import { channelFilter } from './channels.ts';
import type { Advice, BayeuxMessage, BayeuxReply } from './messages.ts';
import * as bayeux from './messages.ts';
import { adviceTimeout, checkVersion, dataMessage, parseMessages, replayFrom } from './messages.ts';
import type { Delivery, Session, Wakeup } from './sessions.ts';
import { Sessions } from './sessions.ts';

export interface CometdRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  /** Whether the request asks to upgrade to a WebSocket, as faye probes before its handshake. */
  readonly websocket: boolean;
  readonly body: string;
  /** Aborted when the client goes away, so that a waiting connect is given up. */
  readonly signal: AbortSignal;
}

const MAX_REQUEST_BYTES = 32_768;
const MAX_EVENTS_PER_REPLY = 100;

export class CometdEndpoint {
  private readonly sessions = new Sessions();

  constructor(
    private readonly tokens: TokenIssuer,
    private readonly cdc: ChangeDataCapture,
    private readonly connectTimeoutMs: number,
  ) {
    cdc.bus.onPublish(() => this.sessions.wakeDue(cdc.bus));
  }

  async handle(req: CometdRequest): Promise<Reply> {
    if (req.method !== 'POST') {
      const error = req.websocket ? '400::Invalid connection type {websocket}' : '400::Bad request';
      return { status: 400, body: [{ successful: false, error }] };
    }
    if (Buffer.byteLength(req.body) > MAX_REQUEST_BYTES)
      return {
        status: 413,
        body: [{ successful: false, error: '413::Maximum Request Size Exceeded' }],
      };
    const messages = parseMessages(req.body);
    if (!messages) return { status: 400, body: [{ successful: false, error: '400::Bad request' }] };
    const versionError = checkVersion(req.path);
    if (versionError)
      return { status: 400, body: messages.map((m) => bayeux.failure(m, versionError)) };
    const auth = this.authFailure(req.authorization);
    const replies: BayeuxReply[] = [];
    // A connect waits for events, so the batch's other messages (a subscribe) are handled first.
    for (const message of messages.filter((m) => m.channel !== bayeux.CONNECT))
      replies.push(this.dispatch(message, auth));
    for (const message of messages.filter((m) => m.channel === bayeux.CONNECT))
      replies.push(...(await this.connect(message, auth, req.signal)));
    return { status: auth ? 401 : 200, body: replies };
  }

  /** Ends every client session, as a server restart would: clients must handshake again. */
  dropClients(): number {
    return this.sessions.endAll('dropped');
  }

  clients(): number {
    return this.sessions.count();
  }

  /**
   * Gives up every waiting connect, so that no timer outlives the server. The clients see their
   * connection drop, retry, and find their session gone, as after a real server restart.
   */
  close(): void {
    this.sessions.endAll('aborted');
  }

  private authFailure(authorization: string | undefined): string | undefined {
    if (!authorization) return bayeux.AUTH_MISSING;
    return this.tokens.verify(authorization) ? undefined : bayeux.AUTH_INVALID;
  }

  private dispatch(message: BayeuxMessage, auth: string | undefined): BayeuxReply {
    if (message.channel === bayeux.HANDSHAKE) return this.handshake(message, auth);
    if (message.channel === bayeux.DISCONNECT && !auth) return this.disconnect(message);
    const found = this.session(message, auth);
    if ('reply' in found) return found.reply;
    const { session } = found;
    switch (message.channel) {
      case bayeux.SUBSCRIBE:
        return this.subscribe(message, session);
      case bayeux.UNSUBSCRIBE:
        if (typeof message.subscription === 'string')
          session.subscriptions.delete(message.subscription);
        return bayeux.success(message, session.id);
      default:
        return bayeux.failure(message, '403::Publish not allowed', { clientId: session.id });
    }
  }

  private handshake(message: BayeuxMessage, auth: string | undefined): BayeuxReply {
    if (auth) {
      return bayeux.failure(message, '403::Handshake denied', {
        ext: { sfdc: { failureReason: auth } },
        advice: { reconnect: 'none' },
      });
    }
    const types = message.supportedConnectionTypes;
    if (Array.isArray(types) && !types.includes('long-polling'))
      return bayeux.failure(message, `400::Invalid connection type {${types.join(',')}}`);
    const session = this.sessions.create();
    return bayeux.success(message, session.id, {
      version: '1.0',
      minimumVersion: '1.0',
      supportedConnectionTypes: ['long-polling'],
      ext: { replay: true, 'payload.format': true },
    });
  }

  /** Always succeeds: a client whose session is gone is disconnected all the same. */
  private disconnect(message: BayeuxMessage): BayeuxReply {
    const session = this.sessions.get(message.clientId);
    if (session) this.sessions.end(session, 'disconnected');
    return bayeux.success(message, typeof message.clientId === 'string' ? message.clientId : '');
  }

  /** The message's live session, or the reply that refuses it. */
  private session(
    message: BayeuxMessage,
    auth: string | undefined,
  ): { session: Session } | { reply: BayeuxReply } {
    const session = this.sessions.get(message.clientId);
    if (auth) {
      if (session) this.sessions.end(session, 'disconnected');
      const clientId = typeof message.clientId === 'string' ? message.clientId : undefined;
      return {
        reply: bayeux.failure(message, auth, {
          clientId,
          advice: { reconnect: 'none', interval: 0 },
        }),
      };
    }
    if (!session)
      return { reply: bayeux.failure(message, bayeux.UNKNOWN_CLIENT, { advice: HANDSHAKE_AGAIN }) };
    return { session };
  }

  private subscribe(message: BayeuxMessage, session: Session): BayeuxReply {
    const channel = message.subscription;
    const refuse = (error: string): BayeuxReply =>
      bayeux.failure(message, error, { clientId: session.id });
    if (typeof channel !== 'string' || channel === '')
      return refuse('400::Channel name not specified');
    if (!channel.startsWith('/'))
      return refuse("400::Channel subscriptions must start with a leading '/'");
    const filter = channelFilter(channel);
    if (!filter)
      return refuse(`400::The channel you requested to subscribe to does not exist {${channel}}`);
    const requested = replayFrom(message.ext, channel);
    const cursor = this.cursorFor(requested);
    if (cursor === undefined) return refuse(bayeux.replayIdInvalid(requested));
    session.subscriptions.set(channel, { filter, cursor });
    if (session.waiting && session.due(this.cdc.bus, 1).length > 0) session.wake('events');
    return bayeux.success(message, session.id);
  }

  /** -1: only new events; -2: every retained one; an id: the events after it, if it is retained. */
  private cursorFor(requested: unknown): number | undefined {
    if (requested === undefined || requested === -1) return this.cdc.bus.latestReplayId();
    if (requested === -2) return 0;
    if (typeof requested !== 'number' || !Number.isInteger(requested)) return undefined;
    return this.cdc.bus.isRetained(requested) ? requested : undefined;
  }

  private async connect(
    message: BayeuxMessage,
    auth: string | undefined,
    signal: AbortSignal,
  ): Promise<BayeuxReply[]> {
    const found = this.session(message, auth);
    if ('reply' in found) return [found.reply];
    const { session } = found;
    session.wake('replaced');
    if (message.connectionType !== undefined && message.connectionType !== 'long-polling')
      return [
        bayeux.failure(
          message,
          `400::Invalid connection type {${typeof message.connectionType === 'string' ? message.connectionType : JSON.stringify(message.connectionType)}}`,
          { clientId: session.id },
        ),
      ];
    // The first connect, and one sent with other messages, is answered at once.
    const atOnce = !session.connected || adviceTimeout(message.advice) === 0;
    session.connected = true;
    if (this.cdc.delivery.remaining() === 0) return [this.exhausted(message, session)];
    let data = this.take(session);
    if (data.length === 0 && !atOnce) {
      const why = await this.wait(session, signal);
      switch (why) {
        case 'aborted':
          return [];
        case 'dropped':
          return [bayeux.failure(message, bayeux.UNKNOWN_CLIENT, { advice: HANDSHAKE_AGAIN })];
        case 'disconnected':
          return [
            bayeux.success(message, session.id, { advice: { reconnect: 'none', interval: 0 } }),
          ];
        case 'events':
          if (this.cdc.delivery.remaining() === 0) return [this.exhausted(message, session)];
          data = this.take(session);
          break;
        case 'timeout':
        case 'replaced':
          break;
        default: {
          const never: never = why;
          throw new Error(`unknown wakeup ${String(never)}`);
        }
      }
    }
    session.lastReply = Date.now();
    return [
      ...data.map(dataMessage),
      bayeux.success(message, session.id, { advice: this.advice() }),
    ];
  }

  /** The due events that fit in this reply and in today's delivery allocation, marked delivered. */
  private take(session: Session): Delivery[] {
    const limit = Math.min(MAX_EVENTS_PER_REPLY, this.cdc.delivery.remaining());
    const due = session.due(this.cdc.bus, limit);
    session.delivered(due);
    this.cdc.delivery.count(due.length);
    return due;
  }

  private wait(session: Session, signal: AbortSignal): Promise<Wakeup> {
    return new Promise((resolve) => {
      const waiting = {
        wake: (why: Wakeup) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', abort);
          resolve(why);
        },
      };
      const wakeIfStill = (why: Wakeup) => () => {
        if (session.waiting === waiting) session.wake(why);
      };
      const abort = wakeIfStill('aborted');
      const timer = setTimeout(wakeIfStill('timeout'), this.connectTimeoutMs);
      signal.addEventListener('abort', abort, { once: true });
      session.waiting = waiting;
    });
  }

  /** The allocation is used up: Salesforce ends the subscriber's connection. */
  private exhausted(message: BayeuxMessage, session: Session): BayeuxReply {
    this.sessions.end(session, 'disconnected');
    return bayeux.failure(message, bayeux.LIMIT_EXCEEDED, {
      clientId: session.id,
      advice: { reconnect: 'none', interval: 0 },
    });
  }

  private advice(): Advice {
    return { interval: 0, timeout: this.connectTimeoutMs, reconnect: 'retry' };
  }
}

const HANDSHAKE_AGAIN: Advice = { interval: 0, reconnect: 'handshake' };
