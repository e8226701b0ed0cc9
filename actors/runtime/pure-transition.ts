// XState's pure `transition(logic, snapshot, event)` and `initialTransition` build a throwaway
// actor for every call, and that actor's constructor computes the machine's initial snapshot: on
// a busy worker, a tenth of the CPU went there. Our machines spawn, invoke and schedule nothing
// (a `raise` without a delay stays within the transition), so one inert scope per machine serves
// every call, and only the collector of the actions to execute is new each time. The results are
// those of XState's functions (test/actors/pure-transition.unit.test.ts compares them).
import {
  createActor,
  type ActorScope,
  type AnyStateMachine,
  type EventFromLogic,
  type ExecutableActionsFrom,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';

type Action = ExecutableActionsFrom<AnyStateMachine>;
type Scope = ActorScope<SnapshotFrom<AnyStateMachine>, EventFromLogic<AnyStateMachine>>;

const scopes = new WeakMap<AnyStateMachine, Scope>();
const ignore = () => {};

function scopeOf(machine: AnyStateMachine): Scope {
  let scope = scopes.get(machine);
  if (scope) return scope;
  const self = createActor(machine);
  scope = {
    self,
    id: '',
    sessionId: '',
    logger: ignore,
    defer: ignore,
    emit: ignore,
    system: self.system,
    stopChild: ignore,
    actionExecutor: ignore,
  };
  scopes.set(machine, scope);
  return scope;
}

/** What a step is given its collector for: synchronous, so no two calls share it. */
function collecting<T>(machine: AnyStateMachine, run: (scope: Scope) => T): [T, Action[]] {
  const actions: Action[] = [];
  const scope = scopeOf(machine);
  scope.actionExecutor = (action) => void actions.push(action as Action);
  try {
    return [run(scope), actions];
  } finally {
    scope.actionExecutor = ignore;
  }
}

/** As XState's `transition`: the next snapshot and the actions to execute, nothing executed. */
export function pureTransition<M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: EventFromLogic<M>,
): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]] {
  return collecting(
    machine,
    (scope) => machine.transition(snapshot, event, scope) as SnapshotFrom<M>,
  ) as [SnapshotFrom<M>, ExecutableActionsFrom<M>[]];
}

/** As XState's `initialTransition`. */
export function pureInitialTransition<M extends AnyStateMachine>(
  machine: M,
  input: InputFrom<M>,
): [SnapshotFrom<M>, ExecutableActionsFrom<M>[]] {
  return collecting(
    machine,
    (scope) => machine.getInitialSnapshot(scope, input) as SnapshotFrom<M>,
  ) as [SnapshotFrom<M>, ExecutableActionsFrom<M>[]];
}
