// The customer actor as the runtime runs it, on the CHANGES stream.
import {
  customerMachine,
  decide,
  start,
  type CustomerEvent,
  type CustomerMachine,
  type CustomerSnapshot,
  type Decision,
} from '../customer/index.ts';
import type { ActorKind } from './actor-kind.ts';
import { parseMessage } from './fact-message.ts';
import { decodeActor, encodeActor } from './snapshot-codec.ts';

export type CustomerKind = ActorKind<CustomerSnapshot, CustomerEvent, Decision>;

/** `binding`: the Stripe account the database is bound to now (events of another are skipped). */
export function customerKind(
  machine: CustomerMachine = customerMachine,
  binding: () => string | undefined = () => undefined,
): CustomerKind {
  return {
    source: 'changes',
    parse: (data, id, at) => parseMessage(data, id, at, binding()),
    start: (id) => start(id, machine),
    decide: (snapshot, event) => decide(snapshot, event, machine),
    encode: (snapshot) => encodeActor(snapshot, machine),
    decode: (id, stored) => decodeActor(id, stored, machine),
    ownerOf: (id) => id,
  };
}
