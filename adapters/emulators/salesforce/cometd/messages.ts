// Bayeux messages as Salesforce's CometD server writes them: replies echo the request's channel,
// id and clientId; failures carry `successful: false` and an `error` of the form `<code>::<text>`.

/** A message as a client sent it: nothing in it is trusted. */
export type BayeuxMessage = Readonly<Record<string, unknown>>;

export type BayeuxReply = Record<string, unknown>;

export interface Advice {
  readonly reconnect: 'retry' | 'handshake' | 'none';
  readonly interval?: number;
  readonly timeout?: number;
}

export const HANDSHAKE = '/meta/handshake';
export const CONNECT = '/meta/connect';
export const SUBSCRIBE = '/meta/subscribe';
export const UNSUBSCRIBE = '/meta/unsubscribe';
export const DISCONNECT = '/meta/disconnect';

/** The fields every reply to `message` starts with. */
export function replyTo(message: BayeuxMessage, clientId?: string): BayeuxReply {
  const reply: BayeuxReply = {};
  if (clientId !== undefined) reply.clientId = clientId;
  reply.channel = message.channel;
  if (message.id !== undefined) reply.id = message.id;
  if (message.subscription !== undefined) reply.subscription = message.subscription;
  return reply;
}

export function success(
  message: BayeuxMessage,
  clientId: string,
  extra?: BayeuxReply,
): BayeuxReply {
  return { ...replyTo(message, clientId), ...extra, successful: true };
}

export function failure(
  message: BayeuxMessage,
  error: string,
  options: { clientId?: string; advice?: Advice; ext?: Record<string, unknown> } = {},
): BayeuxReply {
  const reply = replyTo(message, options.clientId);
  if (options.ext) reply.ext = options.ext;
  if (options.advice) reply.advice = options.advice;
  return { ...reply, error, successful: false };
}

export const UNKNOWN_CLIENT = '403::Unknown client';
export const LIMIT_EXCEEDED = '403::Organization total events daily limit exceeded';
export const AUTH_INVALID = '401::Authentication invalid';
export const AUTH_MISSING = '401::Request requires authentication';

export const replayIdInvalid = (replayId: unknown): string =>
  `400::The replayId {${String(replayId)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;
