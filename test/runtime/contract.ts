// What a contract suite needs from one implementation of a port: hooks around the suite (to
// connect, and to clean up after) and a fresh store for each test.

export interface SuiteHooks {
  before?(): Promise<void>;
  after?(): Promise<void>;
}

/** The error a promise rejects with, or undefined when it resolves. */
export function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (err: unknown) => err,
  );
}
