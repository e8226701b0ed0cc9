// What `replay` takes, checked before anything loads.
export interface ReplayArgs {
  readonly customerId: string | undefined;
  readonly stripeId: string | undefined;
  readonly rebuild: boolean;
  readonly json: boolean;
}

/** Whether the arguments name one thing to replay, in a form it can be. */
export function validReplay(a: ReplayArgs): boolean {
  return a.stripeId !== undefined
    ? /^cus_[A-Za-z0-9]+$/.test(a.stripeId) && !a.customerId && !a.rebuild
    : /^[0-9a-f-]{36}$/i.test(a.customerId ?? '');
}
