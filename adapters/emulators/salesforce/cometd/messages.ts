// Bayeux messages as Salesforce's CometD server writes them: replies echo the request's channel,
// id and clientId; failures carry `successful: false` and an `error` of the form `<code>::<text>`.

import type { Delivery } from './sessions.ts';

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

const VERSION = /^\/cometd\/(?:replay\/)?(\d+)\.\d\/?$/;
const MIN_VERSION = 37;

export function parseMessages(body: string): BayeuxMessage[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.every((m) => typeof m === 'object' && m !== null && !Array.isArray(m))
    ? (list as BayeuxMessage[])
    : undefined;
}

export function checkVersion(path: string): string | undefined {
  const match = VERSION.exec(path);
  if (!match) return "400::API version in the URI is mandatory. URI format: '/cometd/62.0'";
  if (Number(match[1]) < MIN_VERSION)
    return `400::Unsupported API version. Only API versions '${MIN_VERSION}.0' and later are supported. URI format: '/cometd/62.0'`;
  return undefined;
}

/** The replay id a subscribe asks for in `ext.replay`, as given. */
export function replayFrom(ext: unknown, channel: string): unknown {
  const replay =
    typeof ext === 'object' && ext !== null ? (ext as Record<string, unknown>).replay : undefined;
  if (typeof replay !== 'object' || replay === null) return undefined;
  const value = (replay as Record<string, unknown>)[channel];
  return typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
}

export function adviceTimeout(advice: unknown): unknown {
  return typeof advice === 'object' && advice !== null
    ? (advice as Record<string, unknown>).timeout
    : undefined;
}

export function dataMessage({ channel, event }: Delivery): BayeuxReply {
  return {
    channel,
    data: { schema: event.schema, payload: event.payload, event: { replayId: event.replayId } },
  };
}
