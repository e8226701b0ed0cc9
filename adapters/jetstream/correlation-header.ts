// The correlation id on a stream message: a header, so the payload schemas stay as they are, and a
// rebuild reads it from the recorded message exactly as the live consumer did.
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { CORRELATION_HEADER, isSaneCorrelationId } from '../../core/correlation.ts';

/** Undefined without an id: a message without one carries no headers at all. */
export function correlationHeaders(correlationId: string | undefined): MsgHdrs | undefined {
  if (!correlationId) return undefined;
  const h = headers();
  h.set(CORRELATION_HEADER, correlationId);
  return h;
}

/** A recorded message's correlation id; one that is not a plain token is not taken. */
export function correlationOf(m: { headers?: MsgHdrs | undefined }): string | undefined {
  const id = m.headers?.get(CORRELATION_HEADER);
  return isSaneCorrelationId(id) ? id : undefined;
}

/** The log field of a recorded message's correlation id: `{ correlation_id }`, or nothing. */
export function correlationField(m: { headers?: MsgHdrs | undefined }): {
  correlation_id?: string;
} {
  const id = correlationOf(m);
  return id === undefined ? {} : { correlation_id: id };
}
