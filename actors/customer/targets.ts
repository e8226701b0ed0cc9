// The targets the customer actor keeps in sync. A new target adds its spec here and its region
// in machine.ts; the existing regions stay untouched.
import { SALESFORCE } from './salesforce-target.ts';
import { STRIPE } from './stripe-target.ts';
import type { TargetSpec } from './target-spec.ts';

export const TARGETS = { stripe: STRIPE, salesforce: SALESFORCE } as const satisfies Record<
  string,
  TargetSpec
>;
export type TargetName = keyof typeof TARGETS;
export const TARGET_NAMES = Object.keys(TARGETS) as TargetName[];

export function isTargetName(name: string): name is TargetName {
  return Object.hasOwn(TARGETS, name);
}
