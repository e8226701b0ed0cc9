// A machine's snapshot as plain JSON, with its context as it is. XState's `getPersistedSnapshot`
// walks the whole context for actors the machine spawned, taking any object with `sessionId`,
// `send` and `ref` keys for one and storing a stand-in (`{ xstate$$type: 1 }`) in its place: a
// customer's metadata map with those keys was stored so, and the snapshot could not be read back.
// Our machines spawn and invoke nothing (see pure-transition.ts), so the context needs no such
// care; XState still persists the rest (the state value, status, history), from a snapshot whose
// context it has nothing to walk in.
import type { AnyMachineSnapshot } from 'xstate';

/** XState's machine, as far as persisting goes. */
interface Persisting {
  getPersistedSnapshot(snapshot: AnyMachineSnapshot): unknown;
}

const NO_CONTEXT = Object.freeze({});

export function persistedAsIs(machine: Persisting, snapshot: AnyMachineSnapshot): unknown {
  const bare: AnyMachineSnapshot = Object.assign({}, snapshot, { context: NO_CONTEXT });
  const persisted = machine.getPersistedSnapshot(bare);
  // The context keeps its place among the keys, so a snapshot stored before encodes the same.
  return { ...(persisted as object), context: snapshot.context as unknown };
}
