// Changes read from Salesforce (DESIGN: echo rule, merge policy), as the customer actor decides on
// them. Salesforce is a side like Stripe: a field edited there takes part in the per-field
// three-way merge against the values Salesforce was last known to hold, and what it wins is
// written to Postgres with origin `salesforce`, from where it reaches Stripe by the ordinary
// rules and never goes back to Salesforce.
//
// The echo rule: a change written by rtws (the integration user, or a change event whose origin
// names rtws's client) whose mapped fields equal the values of one of our recent writes is our
// echo, and is dropped. Write v1 then v2, and v1's echo is still ours. Any other change is a
// person's edit and flows, even one made as the integration user through another tool.
import { Type, type Static } from '@sinclair/typebox';
import {
  fieldValue,
  sameValue,
  type CanonicalAddress,
  type CanonicalFields,
} from '../../core/canonical.ts';
import { iso, mergeFields, ownerOf, type FieldOwners } from '../../core/policy/merge.ts';
import {
  applyPatch,
  holdsPatch,
  isEmptyPatch,
  patchFieldNames,
  omitFields,
  valuesUnder,
  type FieldPatch,
} from '../../core/policy/push.ts';
import type { TargetState } from './context.ts';
import type { Intent } from './intents.ts';
import { changedSecond } from './desired.ts';
import { knownAfterCreate, madeSinceCreate } from './plan.ts';
import type { InboundState } from './inbound.ts';
import {
  askWrite,
  effectiveDesired,
  remember,
  heldElsewhere,
  settleMatch,
  withSides,
  type InboundContext,
} from './inbound-step.ts';
import { At, FieldPatchSchema, recordedEvent } from './schemas.ts';
import { foldSuperseded, supersede } from './superseded.ts';

export const SalesforceRecordChanged = recordedEvent('SalesforceRecordChanged', {
  /**
   * What the change is known by, for redeliveries and re-reads: `salesforce:<record id>:<modstamp
   * ms>` for a read, `salesforce:cdc:<replay id>` for a change event.
   */
  eventId: Type.String({ minLength: 1 }),
  /** The record, by its Salesforce id. */
  recordId: Type.String({ minLength: 1 }),
  /** The record's values of the fields that flow from Salesforce (`both`, `from_salesforce`). */
  fields: FieldPatchSchema,
  /** Its values of `to_salesforce` fields: learnt, never taken; the catalogue's are put back. */
  putBack: Type.Optional(FieldPatchSchema),
  /** When Salesforce made the change: `SystemModstamp`, or the event's `commitTimestamp` (ms). */
  modifiedAt: At,
  /** When the record was made (`CreatedDate`, ms): a read tells it, a change event does not. */
  createdAt: Type.Optional(At),
  /**
   * For a read: when its query was sent (ms, the reader's clock), no later than the moment it read
   * the record. A change event tells a change of its own, and has none.
   */
  queriedAt: Type.Optional(At),
  /** Made by rtws: its integration user (a read), or its client in `changeOrigin` (an event). */
  byUs: Type.Boolean(),
  /**
   * For a change a change event told (a read shows what the record holds now): the synced fields
   * of it that a later write of ours changed again, as that write's own event said. Where that
   * write set what Postgres still holds, it holds: the change lost to it, and is recorded.
   */
  overwritten: Type.Optional(Type.Array(Type.String())),
});
export type SalesforceRecordChanged = Static<typeof SalesforceRecordChanged>;

/**
 * A record read with our id, made once our pending create was recorded: the create landed, and
 * its answer was lost (a timeout, a worker killed mid-call) or is still on its way. The record is
 * linked here, as holding what the create sent, and the pending create is done: its outcome no
 * longer names a pending intent and is ignored, and a resend finds the record and is never sent
 * over it (the executor checks first). A person's edit of the new record is then merged like any
 * other; dropped as "not linked yet", it would be lost, and the resend would undo it in Salesforce.
 * An older record with our id (one an import stamped, one an earlier create made) is not the
 * create's: it is left to the create's upsert, as before. A change event tells no creation time.
 */
function landedCreate<C extends SalesforceInboundContext>(
  c: C,
  read: Pick<SalesforceRecordChanged['data'], 'recordId' | 'createdAt'>,
): C {
  const t = c.targets.salesforce;
  const p = t.pending;
  if (t.externalId !== null || p === null || p.op !== 'create') return c;
  if (read.createdAt === undefined || !madeSinceCreate(read.createdAt, p.recordedAt)) return c;
  const recordId = read.recordId;
  const linked: TargetState = {
    ...t,
    externalId: recordId,
    known: knownAfterCreate(p.params),
    pending: null,
    attempts: 0,
    lastError: null,
    createUncertain: false,
    status: 'synced',
  };
  return rememberSalesforceWrite({ ...c, targets: { ...c.targets, salesforce: linked } });
}

/** What the actor keeps of its own recent writes to Salesforce: its echoes are recognised by them. */
export const SALESFORCE_WRITES_CAP = 4;

export interface SalesforceInboundContext extends InboundContext {
  targets: InboundContext['targets'] & { salesforce: TargetState };
  inbound: InboundState;
}

export function onSalesforceChanged<C extends SalesforceInboundContext>(
  ctx: C,
  ev: SalesforceRecordChanged,
  owners?: FieldOwners,
): C {
  const { eventId, recordId, modifiedAt, byUs, queriedAt } = ev.data;
  if (ctx.inbound.seen.includes(eventId)) return ctx;
  // A read sent before an update of ours landed shows, in the fields the update set, the values
  // it replaced: those are left out (of the flowing fields and of those put back), and the read is
  // not remembered, so that a later delivery of the same change (a reconciliation's, past
  // JetStream's duplicate window) is taken in full. A change event tells a change made at its
  // commit: one made before that update landed and delivered after it (a read of the same edit
  // having brought it in already) shows the same replaced values, and they are left out alike;
  // a repeat of the event has the same commit, and is left out again.
  const madeBy = queriedAt ?? modifiedAt;
  const behind = replacedSince(ctx, recordId, madeBy, ev.data.fields);
  const behindBack = replacedSince(ctx, recordId, madeBy, ev.data.putBack ?? {});
  const shown = behind.length > 0 ? omitFields(ev.data.fields, behind) : ev.data.fields;
  const putBack =
    ev.data.putBack && behindBack.length > 0
      ? omitFields(ev.data.putBack, behindBack)
      : ev.data.putBack;
  const early = behind.length + behindBack.length > 0;
  const linked = landedCreate(early ? ctx : remember(ctx, [eventId]), ev.data);
  const before = linked.targets.salesforce;
  // Delete beats edit; a record of another link, or one not linked yet and not our pending
  // create's (`landedCreate`), is left.
  if (before.status === 'off' || before.status === 'deleted') return linked;
  if (linked.desired === null || linked.desired.deleted) return linked;
  if (before.externalId !== recordId || before.known === null) return linked;
  const desired = effectiveDesired(linked);
  if (desired === null || desired.deleted) return linked;
  // What an update of ours superseded on its way set is ours, not an edit (`superseded.ts`). A
  // person's change event (it names only the fields they changed) that shows such a value says
  // they set it; a read shows the whole record, whoever changed it last.
  const folded = foldSuperseded(before, shown, !byUs && queriedAt === undefined);
  const c: C =
    folded.target === before
      ? linked
      : { ...linked, targets: { ...linked.targets, salesforce: folded.target } };
  const t = c.targets.salesforce;
  const fields = folded.fields;
  if (t.known === null) return c;
  const second = Math.floor(modifiedAt / 1000);
  const lost = overtaken(t, desired.fields, fields, ev.data.overwritten ?? []).filter(
    (f) => ownerOf(owners, f) !== 'salesforce',
  );
  const taken = lost.length > 0 ? omitFields(fields, lost) : fields;
  const held = putBack
    ? applyPatch(applyPatch(t.known, taken), putBack)
    : applyPatch(t.known, taken);
  if (sameValue(held, t.known) && lost.length === 0) return c;
  if (byUs && isOwnWrite(c, fields)) return c;
  // Only the flowing fields are merged; a `to_salesforce` field Salesforce holds otherwise is
  // known from now on, and the push rule sends the catalogue's value back.
  const theirs = applyPatch(t.known, taken);
  const offered = theirs.name === '' ? { ...theirs, name: t.known.name } : theirs;
  const merged = mergeFields({
    base: t.known,
    ours: desired.fields,
    theirs: offered,
    oursSecond: (field) => changedSecond(desired, field),
    theirsSecond: second,
    side: 'salesforce',
    ...(owners ? { owners } : {}),
  });
  const result = {
    apply: merged.apply,
    conflicts: [
      ...merged.conflicts,
      ...lost.map((field) => ({
        field,
        postgres: fieldValue(desired.fields, field),
        stripe: fieldValue(applyPatch(t.known!, fields), field),
        target: 'salesforce' as const,
        winner: 'postgres' as const,
        reason: `Salesforce's change (${iso(second)}) came before a write of Postgres's value by rtws, which holds`,
        postgresSecond: changedSecond(desired, field),
        stripeSecond: second,
      })),
    ],
  };
  // A push decided before this change was known is decided again (as for Stripe): its base is
  // stale, and a resumed push checks it. One already on its way ends first and may land: kept as
  // `superseded`, its outcome says what Salesforce holds because we wrote it (so that its
  // read-back is not taken for an edit), and the new push sends what still differs.
  const repushed = supersede({ ...t, known: held });
  const known: C = { ...c, targets: { ...c.targets, salesforce: repushed } };
  if (isEmptyPatch(result.apply) && result.conflicts.length === 0) return known;
  return askWrite(
    known,
    {
      kind: 'update',
      stripeId: '',
      origin: 'salesforce',
      patch: result.apply,
      expected: valuesUnder(desired.fields, result.apply),
      changedSeconds: Object.fromEntries(patchFieldNames(result.apply).map((f) => [f, second])),
      elsewhere: heldElsewhere(c, 'salesforce', result.apply),
      fields: null,
      eventIds: [eventId],
      conflicts: withSides(c, result.conflicts, 'salesforce').map((x) => ({
        ...x,
        eventId,
        at: ev.at,
      })),
    },
    ev.at,
  );
}

/**
 * The fields a change changed that a later write of ours (`overwritten`) set to what Postgres
 * still holds, and Salesforce is known to hold: that write holds.
 */
function overtaken(
  t: TargetState,
  ours: CanonicalFields,
  fields: FieldPatch,
  overwritten: readonly string[],
): string[] {
  const known = t.known;
  if (known === null || overwritten.length === 0) return [];
  const theirs = applyPatch(known, fields);
  return patchFieldNames(fields).filter(
    (f) =>
      overwritten.includes(f) &&
      !sameValue(fieldValue(theirs, f), fieldValue(known, f)) &&
      sameValue(fieldValue(known, f), fieldValue(ours, f)),
  );
}

/**
 * The fields a read shows with a value an update of ours replaced there, where the read was sent
 * (or, for a change event, the change was committed) before that update's outcome was recorded: it
 * may show the record before the update landed. A person's edit shows another value, and is
 * taken. The reader's clock stamps the read (Salesforce's, a change event's commit) and the
 * stream's (the NATS servers') the outcome, so both are taken to keep time by NTP: a clock that
 * runs ahead by more than a read takes to be answered and the outcome to be stored lets an early
 * read through, as before this rule; one running behind widens the moment in which a person who
 * sets a replaced value back is left out.
 */
function replacedSince(
  c: SalesforceInboundContext,
  recordId: string,
  sentAt: number | undefined,
  shown: FieldPatch,
): string[] {
  const replaced = c.inbound.salesforceReplaced;
  const known = c.targets.salesforce.known;
  if (sentAt === undefined || replaced === undefined || known === null) return [];
  const read = applyPatch(known, shown);
  return patchFieldNames(shown).filter((f) => {
    const value = fieldValue(read, f);
    if (sameValue(value, fieldValue(known, f))) return false;
    return (replaced[f] ?? []).some(
      (w) => w.record === recordId && sentAt < w.at && sameValue(value, w.was),
    );
  });
}

/** The patch without these fields. */
/**
 * Our echo: every field read equals what we know Salesforce holds, what the write in flight sets,
 * or what one of our recent writes left there.
 */
function isOwnWrite(c: SalesforceInboundContext, fields: FieldPatch): boolean {
  const t = c.targets.salesforce;
  const candidates: CanonicalFields[] = [...(c.inbound.salesforceWrites ?? [])];
  if (t.known !== null) {
    candidates.push(t.known);
    const p = t.pending;
    if (p !== null && p.op === 'update') candidates.push(applyPatch(t.known, p.params.patch));
  }
  if (t.pending?.op === 'create') candidates.push(t.pending.params);
  return candidates.some((w) => holdsPatch(w, fields));
}

/**
 * After an outcome of ours on Salesforce: what it left there, kept to know its echo; and, for an
 * update, the values it replaced and when its outcome was recorded (`replacedSince`).
 */
export function rememberSalesforceWrite<C extends SalesforceInboundContext>(
  c: C,
  update?: { intent: Intent; at: number },
): C {
  const known = c.targets.salesforce.known;
  if (known === null) return c;
  const writes = c.inbound.salesforceWrites ?? [];
  const same = writes.length > 0 && sameValue(writes[writes.length - 1], known);
  const params = update?.intent.op === 'update' ? update.intent.params : undefined;
  if (same && params?.base === undefined) return c;
  const replaced = { ...c.inbound.salesforceReplaced };
  if (update !== undefined && params?.base !== undefined) {
    // The base sets every field it names: what Salesforce held there before the update.
    const before = applyPatch(known, params.base);
    for (const f of patchFieldNames(params.base)) {
      const was = fieldValue(before, f) as string | CanonicalAddress | null;
      const entry = { record: params.externalId, at: update.at, was };
      replaced[f] = [...(replaced[f] ?? []), entry].slice(-SALESFORCE_WRITES_CAP);
    }
  }
  return {
    ...c,
    inbound: {
      ...c.inbound,
      salesforceWrites: same ? writes : [...writes, known].slice(-SALESFORCE_WRITES_CAP),
      ...(params?.base === undefined ? {} : { salesforceReplaced: replaced }),
    },
  };
}

/**
 * A record created in Salesforce without our external id, imported (RTWS_SALESFORCE_IMPORT_NEW):
 * `born`, it becomes a new customer under an id derived from its record id; otherwise it was
 * matched by email with this customer, which no Salesforce record is linked to. Either way the
 * reader has recorded the decision, so the record is imported once however often it is read.
 */
export const SalesforceRecordAdopted = recordedEvent('SalesforceRecordAdopted', {
  recordId: Type.String({ minLength: 1 }),
  /** Its values of the fields that flow from Salesforce. */
  fields: FieldPatchSchema,
  /** Its values of `to_salesforce` fields: known as held there, never taken. */
  putBack: Type.Optional(FieldPatchSchema),
  modifiedAt: At,
  born: Type.Boolean(),
  /** For a match: which values the pair keeps where they differ (RTWS_MATCH_MERGE). */
  policy: Type.Union([Type.Literal('stripe'), Type.Literal('catalogue')]),
});
export type SalesforceRecordAdopted = Static<typeof SalesforceRecordAdopted>;

/** What a record of nothing holds: a Salesforce-born customer starts from it. */
const NOTHING: CanonicalFields = {
  name: '',
  email: null,
  phone: null,
  address: null,
  metadata: {},
};

export function onSalesforceAdopted<C extends SalesforceInboundContext>(
  ctx: C,
  ev: SalesforceRecordAdopted,
): C {
  const { recordId, fields, putBack, born } = ev.data;
  const eventId = `salesforce:import:${recordId}`;
  if (ctx.inbound.seen.includes(eventId)) return ctx;
  const t = ctx.targets.salesforce;
  // Linked already (to this record, by an earlier adoption, or to another), a create of ours
  // under way (its upsert by our id lands on this record once the reader has marked it), or off.
  if (t.status === 'off' || t.externalId !== null || t.pending !== null) return ctx;
  const c = remember(ctx, [eventId]);
  if (born) return bornInSalesforce(c, ev, eventId);
  const desired = effectiveDesired(c);
  if (desired === null || desired.deleted) return c;
  const theirs = applyPatch(desired.fields, fields);
  const held = putBack ? applyPatch(theirs, putBack) : theirs;
  const linked: C = {
    ...c,
    targets: {
      ...c.targets,
      salesforce: { ...t, status: 'synced', externalId: recordId, known: held },
    },
  };
  const { apply, conflicts } = settleMatch(desired.fields, theirs, {
    policy: ev.data.policy,
    side: 'salesforce',
    eventId,
    at: ev.at,
  });
  if (isEmptyPatch(apply) && conflicts.length === 0) return linked;
  return askWrite(
    linked,
    {
      kind: 'update',
      stripeId: '',
      origin: 'salesforce',
      patch: apply,
      expected: valuesUnder(desired.fields, apply),
      fields: null,
      eventIds: [eventId],
      conflicts,
    },
    ev.at,
  );
}

/** Inserted once, linked to its record in the same transaction; then it reaches Stripe. */
function bornInSalesforce<C extends SalesforceInboundContext>(
  c: C,
  ev: SalesforceRecordAdopted,
  eventId: string,
): C {
  if (c.desired !== null || c.inbound.applies.length > 0) return c;
  const { recordId, fields, putBack } = ev.data;
  const values = applyPatch(NOTHING, fields);
  const inserted = { ...values, name: values.name || values.email || recordId };
  const t = c.targets.salesforce;
  const linked: C = {
    ...c,
    targets: {
      ...c.targets,
      salesforce: {
        ...t,
        status: 'synced',
        externalId: recordId,
        known: putBack ? applyPatch(values, putBack) : values,
      },
    },
  };
  return askWrite(
    linked,
    {
      kind: 'insert',
      stripeId: '',
      salesforceId: recordId,
      origin: 'salesforce',
      patch: {},
      fields: inserted,
      eventIds: [eventId],
      conflicts: [],
    },
    ev.at,
  );
}
