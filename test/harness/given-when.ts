// Given/when over any machine's pure transitions. A scenario is a list of steps; each step builds
// one event from the world so far (outcomes name the pending intent), and the clock advances one
// second per event unless a step says otherwise.

export interface World<S, E, D> {
  snapshot: S;
  /** Every event fed so far, in order: what the runtime would have recorded. */
  events: E[];
  /** The decisions of the latest `when`. */
  decisions: D[];
  now: number;
}

export interface Machine<S, E, D> {
  start(): S;
  decide(snapshot: S, event: E): D;
}

export function givenWhen<S, E extends { at: number }, D extends { snapshot: S }>(
  machine: Machine<S, E, D>,
  t0: number,
) {
  type Step = (w: World<S, E, D>) => E;
  function when(world: World<S, E, D>, ...steps: Step[]): World<S, E, D> {
    let w: World<S, E, D> = { ...world, decisions: [] };
    for (const step of steps) {
      const event = step({ ...w, now: w.now + 1000 });
      const decision = machine.decide(w.snapshot, event);
      w = {
        snapshot: decision.snapshot,
        events: [...w.events, event],
        decisions: [...w.decisions, decision],
        now: event.at,
      };
    }
    return w;
  }
  function given(...steps: Step[]): World<S, E, D> {
    return when({ snapshot: machine.start(), events: [], decisions: [], now: t0 }, ...steps);
  }
  return { given, when };
}
