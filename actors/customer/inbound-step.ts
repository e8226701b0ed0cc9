// The actor's rules for changes seen on Stripe (DESIGN: echo rule, staleness, merge policy, deletes,
// Stripe-born customers). Pure functions over the whole context: a decision here touches the Stripe
// target's knowledge and asks for a Postgres write, which the runtime carries out.
import {
  fieldNames,
  fieldValue,
  ownValue,
  sameValue,
  type CanonicalFields,
} from '../../core/canonical.ts';
import { mergeFields, type FieldOwners } from '../../core/policy/merge.ts';
import {
  applyPatch,
  isEmptyPatch,
  patchFieldNames,
  valuesUnder,
  type FieldPatch,
} from '../../core/policy/push.ts';
import { changedSecond } from './desired.ts';
import { CLOCK_SKEW_S, dateFields, type FieldDating } from './stripe-dating.ts';
import type { Desired, TargetState } from './context.ts';
import {
  CONFLICTS_CAP,
  RECONCILE_EVENT_PREFIX,
  SEEN_CAP,
  restoreSettled,
  type CatalogueApplied,
  type CatalogueApply,
  type InboundState,
  type Shown,
  type StripeCustomerFetched,
  type StripeCustomerMatched,
  type StripeCustomerObserved,
} from './inbound.ts';
import type { CustomerFactEvent } from './events.ts';
import { KEY_PREFIX } from './keys.ts';
import { unlinked } from './failure-step.ts';
import { knownWithSuperseded, supersede } from './superseded.ts';

/** The part of the actor's context these rules read and write. */
export interface InboundContext {
  customerId: string;
  desired: Desired | null;
  targets: { stripe: TargetState };
  inbound: InboundState;
}

type ApplyWork = Pick<
  CatalogueApply,
  | 'kind'
  | 'patch'
  | 'fields'
  | 'stripeId'
  | 'salesforceId'
  | 'origin'
  | 'versionFloor'
  | 'elsewhere'
> & {
  expected?: FieldPatch;
  changedSeconds?: Record<string, number>;
  eventIds: string[];
  conflicts: CatalogueApply['conflicts'];
};

export function onStripeObserved<C extends InboundContext>(
  ctx: C,
  ev: StripeCustomerObserved,
  owners?: FieldOwners,
): C {
  if (ctx.inbound.seen.includes(ev.data.eventId)) return ctx;
  const c = remember(ctx, [ev.data.eventId]);
  const s = c.targets.stripe;
  // Delete beats edit: after a deletion on either side nothing comes back in, and our own
  // delete's echo meets the tombstone here.
  if (s.status === 'off' || s.status === 'deleted' || c.desired?.deleted) return c;
  if (s.externalId !== null && s.externalId !== ev.data.stripeId) return c;
  const ours = ev.data.key?.startsWith(KEY_PREFIX) ?? false;
  if (s.externalId === null) {
    // Our own create's echo: its outcome links it.
    if (ours) return c;
    // Not linked yet, but ours: an edit made in Stripe before the link is known waits for it,
    // and is then merged from Stripe's current content; a deletion too, which that fetch finds
    // once our create's answer links the customer. (A create answered by a 5xx looks its customer
    // up among live ones only: deleted, it is not found, and a new create is made.)
    if (c.desired !== null) return wantFetch(c, ev);
    // Born in Stripe and deleted there before we inserted it: a tombstone, so that a late
    // `created` is not inserted.
    if (ev.data.eventType === 'customer.deleted') return tombstone(c, ev.data.stripeId);
    return bornOnStripe(c, ev);
  }
  if (ev.data.eventType === 'customer.deleted')
    return deletedOnStripe(c, ev.data.stripeId, [ev.data.eventId], ev.at);
  if (ours && isOwnWrite(s, ev.data.fields)) return c;
  const pushInFlight = s.pending !== null && s.pending.op !== 'fetch';
  const lastSecond = Math.max(
    s.watermarks.lastEventSecond ?? -1,
    s.watermarks.lastPushSecond ?? -1,
  );
  // Stale or in doubt: Stripe's current content decides, fetched once the target is free. Our
  // clock stamps our pushes and Stripe's stamps its events, so a margin covers their skew.
  // A late echo of an earlier write of ours is no reason to hold our next one back.
  if (pushInFlight || ev.data.created <= lastSecond + CLOCK_SKEW_S || c.inbound.fetch !== null)
    return ours ? wantFetch(c, ev) : supersedePush(wantFetch(c, ev));
  // An echo's `created` is the time of our own write: a change it shows was made before it.
  const theirsSecond = ours ? (s.watermarks.lastEventSecond ?? 0) : ev.data.created;
  const dating = dateFields({
    shown: [shownBy(ev)],
    current: ev.data.fields,
    base: s.known ?? ev.data.fields,
    newest: theirsSecond,
    baseSecond: baseSecondOf(s),
  });
  // An earlier event is still on its way (it set a field this one did not change): it is waited
  // for, as a stale event is, and Stripe's content then fetched.
  if (unseenConflicts(c, ev.data.fields, dating).length > 0) {
    const wanted = wantFetch(c, ev);
    return {
      ...wanted,
      inbound: {
        ...wanted.inbound,
        fetch: {
          ...wanted.inbound.fetch!,
          waitingSince: ev.at,
          notBefore: ev.at + UNSEEN_RETRY_MS,
        },
      },
    };
  }
  const merged = merge(
    c,
    ev.data.fields,
    dating,
    ev.data.stripeId,
    [ev.data.eventId],
    ev.at,
    owners,
  );
  const restored = ev.data.rtwsId === c.customerId ? merged : withRestore(merged, ev.data.rtwsId);
  // An echo never advances the staleness watermark.
  return ours ? restored : withEventSecond(restored, ev.data.created);
}

/**
 * When all of what Stripe is known to hold was learned: the last event applied or fetch merged.
 * (Our own writes refresh only the fields they set.)
 */
function baseSecondOf(s: TargetState): number | null {
  return s.watermarks.lastEventSecond;
}
/** Event ids kept with a wanted fetch: enough to know which events it settles. */
const FETCH_EVENTS_CAP = 64;
/** What the latest events showed, kept with a wanted fetch to date each field it finds. */
const FETCH_SHOWN_CAP = 16;
/**
 * How long a merge waits for the event of a change Stripe holds and rtws has not received, when
 * Postgres changed the same field: longer than the redelivery of an event held by a crashed
 * worker (the inbound ack wait, 30 s) plus one catch-up interval (60 s). Then it decides.
 */
export const UNSEEN_WAIT_MS = 120_000;
/** While it waits, Stripe's content is fetched again this often. */
export const UNSEEN_RETRY_MS = 5_000;

/**
 * Asks for Stripe's current content. Its merge dates each field by the events seen (see
 * `dateFields`). The newest second, which dates what no event dates, is never an echo's: its
 * `created` is the time of our write, not of a change made there.
 */
function wantFetch<C extends InboundContext>(c: C, ev: StripeCustomerObserved): C {
  const fetch = c.inbound.fetch;
  const ours = ev.data.key?.startsWith(KEY_PREFIX) ?? false;
  const second = ours
    ? (fetch?.second ?? c.targets.stripe.watermarks.lastEventSecond ?? 0)
    : Math.max(fetch?.second ?? 0, ev.data.created);
  const shown = fetch?.shown ?? [];
  return {
    ...c,
    inbound: {
      ...c.inbound,
      fetch: {
        ...fetch,
        eventIds: [...(fetch?.eventIds ?? []), ev.data.eventId].slice(-FETCH_EVENTS_CAP),
        second,
        shown: [...shown, shownBy(ev)].slice(-FETCH_SHOWN_CAP),
      },
    },
  };
}

/**
 * A push decided before this change was known is decided again after the fetch. Sent as it is, it
 * would overwrite the change on Stripe, and the fetch would then find only our own write. If the
 * push is already on its way, the fetch runs after it (one call per customer and target) and sees
 * what it did. It is kept as superseded (`superseded.ts`): the fetch's merge then counts what it
 * set as our write, not as an edit made in Stripe.
 */
function supersedePush<C extends InboundContext>(c: C): C {
  return { ...c, targets: { ...c.targets, stripe: supersede(c.targets.stripe) } };
}

function tombstone<C extends InboundContext>(c: C, stripeId: string): C {
  const s = c.targets.stripe;
  return {
    ...c,
    targets: { ...c.targets, stripe: { ...s, status: 'deleted', externalId: stripeId } },
  };
}

/** A fetch came back: merge Stripe's current content for the events that asked for it. */
export function onStripeFetched<C extends InboundContext>(
  ctx: C,
  ev: StripeCustomerFetched,
  owners?: FieldOwners,
): C {
  const p = ctx.targets.stripe.pending;
  if (p === null || p.op !== 'fetch' || p.id !== ev.data.intentId) return ctx;
  const fetch = ctx.inbound.fetch;
  const shown = fetch?.shown ?? [];
  const s = knownWithSuperseded(ctx.targets.stripe, ev.data.fields, shown);
  if (s.externalId === null) return ctx;
  const asked = new Set(p.params.eventIds);
  const left = fetch?.eventIds.filter((id) => !asked.has(id)) ?? [];
  // A fetch no event asked for (the check of a 404) dates Stripe's side by the last change known
  // there, never by the fetch itself: that would make every difference look like the later edit.
  const second = fetch?.second ?? s.watermarks.lastEventSecond ?? 0;
  const rest = { eventIds: left, second, shown: shown.filter((x) => !asked.has(x.eventId)) };
  const free: TargetState = { ...s, pending: null, attempts: 0, lastError: null, status: 'synced' };
  const c: C = {
    ...ctx,
    targets: { ...ctx.targets, stripe: free },
    inbound: { ...ctx.inbound, fetch: left.length > 0 ? rest : null },
  };
  // Only an explicit deletion deletes: a 404 is a broken link, reported, and deletes nothing.
  if (ev.data.fields === null && ev.data.missing)
    return {
      ...c,
      targets: {
        ...c.targets,
        stripe: unlinked(
          c.targets.stripe,
          p,
          ev.at,
          `${s.externalId} is not in the Stripe account rtws is bound to; the link is broken and nothing was deleted`,
        ),
      },
      inbound: { ...c.inbound, fetch: null },
    };
  if (ev.data.fields === null) return deletedOnStripe(c, s.externalId, p.params.eventIds, ev.at);
  const dating = dateFields({
    shown,
    current: ev.data.fields,
    base: s.known ?? ev.data.fields,
    newest: second,
    received: fetch?.eventIds ?? [],
    baseSecond: baseSecondOf(s),
  });
  // A change Postgres made to a field whose Stripe value came with an event not yet received is
  // judged once that event is here: until then its time is unknown.
  if (fetch && unseenConflicts(c, ev.data.fields, dating).length > 0) {
    const waitingSince = fetch.waitingSince ?? ev.at;
    if (ev.at - waitingSince < UNSEEN_WAIT_MS)
      return {
        ...ctx,
        targets: { ...ctx.targets, stripe: free },
        inbound: {
          ...ctx.inbound,
          fetch: { ...fetch, waitingSince, notBefore: ev.at + UNSEEN_RETRY_MS },
        },
      };
  }
  const merged = merge(c, ev.data.fields, dating, s.externalId, p.params.eventIds, ev.at, owners);
  const restored = ev.data.rtwsId === c.customerId ? merged : withRestore(merged, ev.data.rtwsId);
  // What was fetched is Stripe's content as of now: older events are covered by it.
  return withEventSecond(restored, Math.floor(ev.at / 1000));
}

/**
 * A match an import found: linked only while the customer is unlinked with no create that may
 * have landed (a create of ours in flight would make a second link). A match a create found (it
 * names the pending create) concludes that create instead: the customer is linked to the Stripe
 * customer it already had, and nothing was created.
 */
export function onStripeMatched<C extends InboundContext>(ctx: C, ev: StripeCustomerMatched): C {
  const s = ctx.targets.stripe;
  if (s.status === 'off' || s.status === 'deleted') return ctx;
  if (ev.data.intentId !== undefined) return onCreateMatched(ctx, ev);
  const desired = effectiveDesired(ctx);
  if (desired === null || desired.deleted) return ctx;
  if (s.externalId !== null || s.createUncertain || s.pending !== null) return ctx;
  return linkMatched(ctx, ev, desired.fields);
}

/**
 * Only the report of the pending create counts. The create wrote `metadata.rtws_id` onto the
 * Stripe customer (its claim), so that is a write of ours as of `at`. A customer deleted meanwhile
 * is not linked: the Stripe customer existed before it, and a delete never removes what rtws did
 * not create (the mark stays, so an import reports it as an orphan).
 */
function onCreateMatched<C extends InboundContext>(ctx: C, ev: StripeCustomerMatched): C {
  const s = ctx.targets.stripe;
  const p = s.pending;
  if (p === null || p.op !== 'create' || p.id !== ev.data.intentId) return ctx;
  const done: C = {
    ...ctx,
    targets: {
      ...ctx.targets,
      stripe: {
        ...s,
        pending: null,
        attempts: 0,
        lastError: null,
        watermarks: { ...s.watermarks, lastPushSecond: Math.floor(ev.at / 1000) },
      },
    },
  };
  const desired = effectiveDesired(done);
  if (desired === null || desired.deleted) return withoutCreate(done);
  return linkMatched(done, ev, desired.fields);
}

/** Nothing was created: the next plan has nothing to delete. */
function withoutCreate<C extends InboundContext>(c: C): C {
  const s = c.targets.stripe;
  return {
    ...c,
    targets: { ...c.targets, stripe: { ...s, status: 'new', createUncertain: false } },
  };
}

function linkTo<C extends InboundContext>(c: C, ev: StripeCustomerMatched): C {
  return linkedTo(c, ev.data.stripeId, ev.data.fields);
}

/** The Stripe target linked to `stripeId`, holding `known`, with no create in doubt. */
function linkedTo<C extends InboundContext>(
  c: C,
  stripeId: string,
  known: CanonicalFields,
  watermarks: TargetState['watermarks'] = c.targets.stripe.watermarks,
): C {
  const s = c.targets.stripe;
  return {
    ...c,
    targets: {
      ...c.targets,
      stripe: {
        ...s,
        status: 'synced',
        externalId: stripeId,
        known,
        createUncertain: false,
        watermarks,
      },
    },
  };
}

/**
 * Links the pair. Fields that differ are settled by the policy, each recorded as a conflict with
 * reason `match` (there is no common base and no time to judge by): the Stripe customer keeps
 * each value it has under `stripe`, and the catalogue fills the rest; under `catalogue` the
 * catalogue's values win. What Postgres won then goes to Stripe by the push rule, with
 * `metadata.rtws_id` unless Stripe holds it already.
 */
function linkMatched<C extends InboundContext>(
  ctx: C,
  ev: StripeCustomerMatched,
  ours: CanonicalFields,
): C {
  const eventId = `match:${ev.data.stripeId}`;
  const { apply, conflicts } = settleMatch(ours, ev.data.fields, {
    policy: ev.data.policy,
    side: 'stripe',
    eventId,
    at: ev.at,
  });
  const linked = linkTo(ctx, ev);
  const asked =
    isEmptyPatch(apply) && conflicts.length === 0
      ? linked
      : askWrite(
          linked,
          {
            kind: 'update',
            stripeId: ev.data.stripeId,
            patch: apply,
            expected: valuesUnder(ours, apply),
            fields: null,
            eventIds: [eventId],
            conflicts,
          },
          ev.at,
        );
  return ev.data.rtwsId === ctx.customerId ? asked : withRestore(asked, ev.data.rtwsId ?? null);
}

/**
 * The fields a matched pair settles, each that differs recorded as a conflict with reason
 * `match`: under `stripe` (RTWS_MATCH_MERGE) the existing twin keeps each value it has, and the
 * catalogue fills the rest; under `catalogue` the catalogue's values win.
 */
export function settleMatch(
  ours: CanonicalFields,
  theirs: CanonicalFields,
  o: { policy: 'stripe' | 'catalogue'; side: 'stripe' | 'salesforce'; eventId: string; at: number },
): { apply: FieldPatch; conflicts: CatalogueApply['conflicts'] } {
  const apply: FieldPatch = {};
  const conflicts: CatalogueApply['conflicts'] = [];
  const twin = o.side === 'stripe' ? 'Stripe customer' : 'Salesforce record';
  const settle = (field: string, ov: unknown, tv: unknown, set: () => void) => {
    if (sameValue(ov, tv)) return;
    const theirsWin = o.policy === 'stripe' && tv !== null && tv !== '';
    if (theirsWin) set();
    conflicts.push({
      field,
      postgres: ov ?? null,
      stripe: tv ?? null,
      ...(o.side === 'salesforce' ? { target: 'salesforce' as const } : {}),
      winner: theirsWin ? o.side : 'postgres',
      reason: theirsWin
        ? `match: the existing ${twin} keeps its value`
        : o.policy === 'stripe'
          ? `match: the ${twin} had no value; the catalogue fills it`
          : 'match: the catalogue wins (RTWS_MATCH_MERGE=catalogue)',
      eventId: o.eventId,
      at: o.at,
    });
  };
  settle('name', ours.name, theirs.name, () => (apply.name = theirs.name));
  settle('email', ours.email, theirs.email, () => (apply.email = theirs.email));
  settle('phone', ours.phone, theirs.phone, () => (apply.phone = theirs.phone));
  settle('address', ours.address, theirs.address, () => (apply.address = theirs.address));
  const keys = new Set([...Object.keys(ours.metadata), ...Object.keys(theirs.metadata)]);
  for (const key of [...keys].sort()) {
    const value = ownValue(theirs.metadata, key) ?? null;
    settle(`metadata.${key}`, ownValue(ours.metadata, key) ?? null, value, () => {
      apply.metadata = { ...apply.metadata, [key]: value };
    });
  }
  return { apply, conflicts };
}

export function onCatalogueApplied<C extends InboundContext>(ctx: C, ev: CatalogueApplied): C {
  const target = ctx.inbound.applies.find(
    (a) => a.id === ev.data.intentId && a.doneAtVersion === null,
  );
  if (!target) return ctx;
  const done: CatalogueApply = {
    ...target,
    // Postgres's own later values stand in for the fields it kept: they are what it holds.
    patch: ev.data.kept ? mergePatches(target.patch, ev.data.kept) : target.patch,
    doneAtVersion: ev.data.error ? 0 : (ev.data.version ?? 0),
  };
  const applies = ctx.inbound.applies
    .map((a) => (a === target ? done : a))
    .filter((a) => !seenBack(ctx.desired, a));
  return { ...ctx, inbound: { ...ctx.inbound, applies, lastError: ev.data.error } };
}

function mergePatches(a: FieldPatch, b: FieldPatch): FieldPatch {
  const out: FieldPatch = { ...a, ...b };
  if (a.metadata || b.metadata) out.metadata = { ...a.metadata, ...b.metadata };
  return out;
}

/**
 * A write's tag, which its transaction hands to the outbox row of the change it captures
 * (`metadata.write` on the fact). The id restarts with a reset actor; the time of the decision
 * tells two writes of one id apart.
 */
export function writeTag(a: Pick<CatalogueApply, 'id' | 'recordedAt'>): string {
  return `${a.id}@${a.recordedAt}`;
}

/**
 * A write's own captured change reports it done, as of the change's version: the runtime sends a
 * `CatalogueApplied` only for a write that captured no change (done before, changed nothing, or
 * refused), or that kept fields Postgres had changed since. Call with the fact's `desired` taken.
 */
export function onWriteSeen<C extends InboundContext>(ctx: C, fact: CustomerFactEvent): C {
  const tag = fact.metadata.write;
  if (tag === undefined) return ctx;
  const target = ctx.inbound.applies.find((a) => a.doneAtVersion === null && writeTag(a) === tag);
  if (!target) return ctx;
  const done: CatalogueApply = { ...target, doneAtVersion: fact.metadata.version };
  const applies = ctx.inbound.applies
    .map((a) => (a === target ? done : a))
    .filter((a) => !seenBack(ctx.desired, a));
  return { ...ctx, inbound: { ...ctx.inbound, applies, lastError: null } };
}

/** After a new fact: writes whose change the actor now has are finished with. */
export function pruneApplies<C extends InboundContext>(ctx: C): C {
  const applies = ctx.inbound.applies.filter((a) => !seenBack(ctx.desired, a));
  return applies.length === ctx.inbound.applies.length
    ? ctx
    : { ...ctx, inbound: { ...ctx.inbound, applies } };
}

/** A write the runtime has yet to carry out (or whose report is still on its way). */
export function isUndone(a: CatalogueApply): boolean {
  return a.doneAtVersion === null;
}

function seenBack(desired: Desired | null, a: CatalogueApply): boolean {
  if (a.doneAtVersion === null) return false;
  if (a.doneAtVersion === 0) return true;
  if (desired === null) return false;
  // A deleted customer takes no later fact: its version stays where the deletion found it.
  return desired.version >= a.doneAtVersion || (a.kind === 'delete' && desired.deleted);
}

/** The content Postgres will hold once the waiting writes are done: what the targets should get. */
export function effectiveDesired(ctx: InboundContext): Desired | null {
  const desired = ctx.desired;
  if (desired === null || desired.deleted) return desired;
  let fields = desired.fields;
  for (const a of ctx.inbound.applies) {
    if (a.kind === 'update') fields = applyPatch(fields, a.patch);
    else if (a.kind === 'insert' && a.fields !== null) fields = a.fields;
  }
  return fields === desired.fields ? desired : { ...desired, fields };
}

/**
 * Stripe's echo of a write of ours that the actor would drop, changing nothing but the event ids it
 * remembers: the inbound mapping drops it there, saving the publish and the step (see
 * `onStripeObserved`; DESIGN: echo rule). `ctx` is the actor's last saved state, which may be
 * behind its stream, so only the plain cases are taken, each with our key for this customer:
 * - its linked Stripe customer, with content equal to what the target is known to hold or our
 *   write in flight sets. A person's edit that landed before our write shows in the echo's
 *   content, which then differs, so it goes on to the actor;
 * - the echo of our create while that create is pending (its outcome, not this echo, links it).
 *   The create made that Stripe customer from what we sent, so its event holds no one's edit. An
 *   actor further on in its stream, linked by the outcome, drops it as its own write, or fetches
 *   Stripe's content to no end when a later push of ours has changed it since.
 *
 * Anything else (a deletion, a target off) goes on to the actor.
 */
export function isOwnEcho(
  ctx: Pick<InboundContext, 'customerId' | 'desired' | 'targets'>,
  ev: Pick<StripeCustomerObserved['data'], 'key' | 'eventType' | 'stripeId' | 'fields'>,
): boolean {
  if (!ev.key?.startsWith(`${KEY_PREFIX}${ctx.customerId}-`)) return false;
  if (ev.eventType === 'customer.deleted') return false;
  const s = ctx.targets.stripe;
  if (s.status === 'off' || s.status === 'deleted' || ctx.desired?.deleted) return false;
  if (s.externalId === null)
    return (
      ev.eventType === 'customer.created' && ev.key === s.pending?.key && s.pending.op === 'create'
    );
  return s.externalId === ev.stripeId && isOwnWrite(s, ev.fields);
}

/**
 * `isOwnEcho`, told before the mapping reads the link table: an event of ours names its customer
 * twice (our idempotency key and `metadata.rtws_id`), and `held` gives that actor's state where
 * this process holds it. An actor that holds the event's Stripe customer is the one the link
 * table names (one customer per Stripe customer), so the mapping would reach the same verdict.
 * An erasure takes the actor out of memory before it removes the links, and an erased actor holds
 * no state, so the events about an erased customer go the whole way (and leave INBOUND).
 */
export function isHeldEcho(
  ev: Pick<StripeCustomerObserved['data'], 'key' | 'eventType' | 'stripeId' | 'fields' | 'rtwsId'>,
  held: (
    customerId: string,
  ) => Pick<InboundContext, 'customerId' | 'desired' | 'targets'> | undefined,
): boolean {
  if (ev.rtwsId === null || !ev.key?.startsWith(`${KEY_PREFIX}${ev.rtwsId}-`)) return false;
  const ctx = held(ev.rtwsId);
  return ctx !== undefined && ctx.customerId === ev.rtwsId && isOwnEcho(ctx, ev);
}

/**
 * The customer an event maps to, told without the link table: the one its `metadata.rtws_id`
 * names, where this process holds that actor and the actor is linked to the event's Stripe
 * customer. One Stripe customer is one customer in the link table, so the table would name the
 * same (an erasure takes the actor out of memory before it removes the links, as for
 * `isHeldEcho`). Undefined otherwise, and the mapping reads the table.
 */
export function heldLinkOf(
  ev: Pick<StripeCustomerObserved['data'], 'stripeId' | 'rtwsId'>,
  held: (customerId: string) => Pick<InboundContext, 'customerId' | 'targets'> | undefined,
): string | undefined {
  if (ev.rtwsId === null) return undefined;
  const ctx = held(ev.rtwsId);
  if (ctx === undefined || ctx.customerId !== ev.rtwsId) return undefined;
  return ctx.targets.stripe.externalId === ev.stripeId ? ev.rtwsId : undefined;
}

/** Our echo: Stripe holds what we know it holds, or what our write in flight is setting. */
function isOwnWrite(s: TargetState, fields: CanonicalFields): boolean {
  if (s.known === null) return false;
  if (sameValue(fields, s.known)) return true;
  const p = s.pending;
  return p !== null && p.op === 'update' && sameValue(fields, applyPatch(s.known, p.params.patch));
}

/** A Stripe-born customer: inserted once (under an id derived from its Stripe id), and linked. */
function bornOnStripe<C extends InboundContext>(c: C, ev: StripeCustomerObserved): C {
  const fields = {
    ...ev.data.fields,
    name: ev.data.fields.name || ev.data.fields.email || ev.data.stripeId,
  };
  const s = c.targets.stripe;
  const linked = linkedTo(c, ev.data.stripeId, ev.data.fields, {
    ...s.watermarks,
    lastEventSecond: ev.data.created,
  });
  const withInsert = askWrite(
    linked,
    {
      kind: 'insert',
      stripeId: ev.data.stripeId,
      patch: {},
      fields,
      eventIds: [ev.data.eventId],
      conflicts: [],
    },
    ev.at,
  );
  if (ev.data.rtwsId === c.customerId) return withInsert;
  const restore = withRestore(withInsert, ev.data.rtwsId);
  return ev.data.writeRtwsId === 'later' && ev.data.rtwsId === null
    ? { ...restore, inbound: { ...restore.inbound, restoreLater: true } }
    : restore;
}

function deletedOnStripe<C extends InboundContext>(
  c: C,
  stripeId: string,
  eventIds: string[],
  at: number,
): C {
  const s = c.targets.stripe;
  const gone: C = {
    ...c,
    targets: {
      ...c.targets,
      stripe: { ...s, status: 'deleted', pending: null, attempts: 0, lastError: null },
    },
    inbound: { ...restoreSettled(c.inbound), fetch: null },
  };
  return askWrite(
    gone,
    { kind: 'delete', stripeId, patch: {}, fields: null, eventIds, conflicts: [] },
    at,
  );
}

function merge<C extends InboundContext>(
  c: C,
  theirs: CanonicalFields,
  dating: FieldDating,
  stripeId: string,
  eventIds: string[],
  at: number,
  owners?: FieldOwners,
): C {
  const s = c.targets.stripe;
  const { base, ours, offered, oursSecond } = sides(c, theirs);
  const result = mergeFields({
    base,
    ours,
    theirs: offered,
    oursSecond,
    theirsSecond: (field) => dating.secondOf(field),
    ...(owners ? { owners } : {}),
  });
  // Stripe holds `theirs` now: fields Postgres won differ from it, and the push rule sends them.
  const known: C = { ...c, targets: { ...c.targets, stripe: { ...s, known: theirs } } };
  if (isEmptyPatch(result.apply) && result.conflicts.length === 0) return known;
  const eventId = eventIds[eventIds.length - 1] ?? '';
  // Drift: a difference found by a reconciliation, with no Stripe event behind it.
  const drift = eventIds.some((id) => id.startsWith(RECONCILE_EVENT_PREFIX));
  const conflicts = withSides(c, result.conflicts, 'stripe').map((x) => ({
    ...x,
    reason: drift ? `drift: ${x.reason}` : x.reason,
    eventId,
    at,
  }));
  return askWrite(
    known,
    {
      kind: 'update',
      stripeId,
      patch: result.apply,
      expected: valuesUnder(ours, result.apply),
      changedSeconds: changedSeconds(result.apply, dating),
      elsewhere: heldElsewhere(c, 'stripe', result.apply),
      fields: null,
      eventIds,
      conflicts,
    },
    at,
  );
}

/** The three sides of a merge: what Stripe was known to hold, and what Postgres wants. */
function sides(c: InboundContext, theirs: CanonicalFields) {
  const desired = effectiveDesired(c);
  const known = c.targets.stripe.known;
  // Before Postgres has the customer (its insert waits), only Stripe's side can have changed.
  const ours = desired?.fields ?? known ?? theirs;
  const base = known ?? theirs;
  // rtws requires a name: one removed in Stripe keeps ours, which the push rule sends back.
  const offered = theirs.name === '' ? { ...theirs, name: base.name } : theirs;
  const oursSecond = (field: string) => (desired ? changedSecond(desired, field) : 0);
  return { base, ours, offered, oursSecond };
}

/** Fields changed on both sides whose Stripe value was set by an event not received yet. */
function unseenConflicts(c: InboundContext, theirs: CanonicalFields, dating: FieldDating) {
  const { base, ours, offered } = sides(c, theirs);
  return fieldNames(base, ours, offered).filter((f) => {
    const t = fieldValue(offered, f);
    const o = fieldValue(ours, f);
    const b = fieldValue(base, f);
    return dating.unseen(f) && !sameValue(o, b) && !sameValue(t, o) && !sameValue(t, b);
  });
}

/** When Stripe changed each field of a write. */
function changedSeconds(patch: FieldPatch, dating: FieldDating): Record<string, number> {
  return Object.fromEntries(patchFieldNames(patch).map((f) => [f, dating.secondOf(f)]));
}

/** What one event showed, kept to date the fields a fetch finds. */
function shownBy(ev: StripeCustomerObserved): Shown {
  const { eventId, created, fields, changed, key } = ev.data;
  const ours = key?.startsWith(KEY_PREFIX) ?? false;
  return {
    eventId,
    second: created,
    fields,
    ...(changed ? { changed } : {}),
    ...(ours ? { ours } : {}),
  };
}

/**
 * Asks Postgres to delete the customer because a target says it is gone there (Salesforce, under
 * `propagate`). Recorded with that target as its origin, so that every other target deletes too.
 */
export function askDeletion<C extends InboundContext>(
  c: C,
  origin: 'salesforce',
  eventIds: string[],
  at: number,
): C {
  return askWrite(
    c,
    { kind: 'delete', stripeId: '', patch: {}, fields: null, eventIds, conflicts: [], origin },
    at,
  );
}

/** Records a Postgres write after those already waiting. */
export function askWrite<C extends InboundContext>(c: C, work: ApplyWork, at: number): C {
  const seq = c.inbound.applySeq + 1;
  const next: CatalogueApply = {
    id: `catalogue-${seq}`,
    recordedAt: at,
    doneAtVersion: null,
    ...work,
  };
  return {
    ...c,
    inbound: {
      ...c.inbound,
      applies: [...c.inbound.applies, next],
      applySeq: seq,
      conflicts: [...c.inbound.conflicts, ...work.conflicts].slice(-CONFLICTS_CAP),
    },
  };
}

/**
 * Each conflict with every side's value of its field: Postgres's, the changed side's, and what
 * each other linked target is known to hold, so that one record shows all of them.
 */
export function withSides<X extends { field: string; postgres: unknown; stripe: unknown }>(
  c: InboundContext,
  conflicts: readonly X[],
  side: 'stripe' | 'salesforce',
): (X & { sides: Record<string, unknown> })[] {
  return conflicts.map((x) => {
    const sides: Record<string, unknown> = { postgres: x.postgres ?? null };
    for (const [name, t] of Object.entries<TargetState>(c.targets))
      if (name !== side && t.status !== 'off' && t.known !== null)
        sides[name] = fieldValue(t.known, x.field);
    sides[side] = x.stripe ?? null;
    return { ...x, sides };
  });
}

/** What each linked target but `side` is known to hold of the fields a patch sets. */
export function heldElsewhere(
  c: InboundContext,
  side: 'stripe' | 'salesforce',
  patch: FieldPatch,
): Record<string, FieldPatch> {
  const out: Record<string, FieldPatch> = {};
  for (const [name, t] of Object.entries<TargetState>(c.targets))
    if (name !== side && t.status !== 'off' && t.known !== null)
      out[name] = valuesUnder(t.known, patch);
  return out;
}

/** Records event ids as decided on: a redelivery is then dropped. */
export function remember<C extends InboundContext>(c: C, eventIds: string[]): C {
  return {
    ...c,
    inbound: { ...c.inbound, seen: [...c.inbound.seen, ...eventIds].slice(-SEEN_CAP) },
  };
}

/**
 * `rtws_id` is to be written again, at once. Only an import's restore, owed already, still waits
 * for a push while Stripe shows none; an `rtws_id` naming someone else is put right now.
 */
function withRestore<C extends InboundContext>(c: C, shown: string | null): C {
  const later = c.inbound.restoreRtwsId && c.inbound.restoreLater === true && shown === null;
  const inbound = restoreSettled(c.inbound);
  return {
    ...c,
    inbound: { ...inbound, restoreRtwsId: true, ...(later ? { restoreLater: true as const } : {}) },
  };
}

function withEventSecond<C extends InboundContext>(c: C, second: number): C {
  const s = c.targets.stripe;
  const last = s.watermarks.lastEventSecond;
  if (last !== null && last >= second) return c;
  return {
    ...c,
    targets: {
      ...c.targets,
      stripe: { ...s, watermarks: { ...s.watermarks, lastEventSecond: second } },
    },
  };
}
