// Every stream, subject, consumer and bucket name, in one place. A namespace prefixes them all so
// that tenants and test suites can share one NATS server.
//
// Subjects carry a partition token before the entity id (scale-out scheme (a) in the design):
// `<ns>.changes.customer.p07.<customerId>`. Workers own partitions through KV leases and consume a
// partition with one durable consumer, whose single filter subject nats-server 2.9 supports.
// Invoices are partitioned by their customer, so a customer's actors all live on one worker.
//
// Verified inbound events carry a partition token after their type, that of the external customer
// they are about (`<ns>.inbound.stripe.customer.updated.p03` for a `cus_…`): the worker holding
// the partition maps them, so that one Stripe customer's events keep their order whichever
// workers run. Events stored before that have no token; their subjects stay consumed.

export const NAMESPACE_PATTERN = '^[A-Za-z0-9_-]{0,32}$';

/** Actor ids (a customer's, an invoice's) that are safe as KV keys and subject tokens. */
export const ACTOR_KEY = /^[A-Za-z0-9_-]{1,100}$/;

export interface Names {
  readonly namespace: string;
  readonly partitions: number;
  readonly streams: {
    readonly changes: string;
    readonly invoices: string;
    readonly inbound: string;
    readonly dlq: string;
  };
  /** Subjects each stream binds. */
  readonly streamSubjects: {
    readonly changes: string;
    readonly invoices: string;
    readonly inbound: string;
    readonly dlq: string;
  };
  customerSubject(customerId: string): string;
  invoiceSubject(invoiceId: string, customerId: string): string;
  /** Matches every partition's messages for one customer, for replay. */
  customerHistoryFilter(customerId: string): string;
  /** The single filter subject of partition `p`'s customer consumer. */
  customerPartitionFilter(p: number): string;
  invoicePartitionFilter(p: number): string;
  /**
   * A verified inbound event's subject, `inbound.<source>.<eventType>.pNN`, in the partition of
   * the external customer it is about (`inboundPartition`).
   */
  inboundSubject(source: string, eventType: string, about: string | undefined): string;
  /** The unpartitioned subject inbound events had before; those stored then are still consumed. */
  legacyInboundSubject(source: string, eventType: string): string;
  /** The single filter subject of partition `p`'s consumer of `eventFilter` (e.g. `customer.*`). */
  inboundPartitionFilter(source: string, eventFilter: string, p: number): string;
  dlqSubject(source: string): string;
  bucket(name: string): string;
}

export function partitionToken(p: number): string {
  return `p${String(p).padStart(2, '0')}`;
}

/** FNV-1a over the id: stable across processes and versions, so a customer never moves. */
export function partitionOf(id: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/**
 * The partition of an inbound event about external customer `about` (a Stripe `cus_…`). An event
 * about no customer (malformed: every handled type names one) goes to partition 0, whose consumer
 * dead-letters it.
 */
export function inboundPartition(about: string | undefined, partitions: number): number {
  return about ? partitionOf(about, partitions) : 0;
}

export function names(namespace: string, partitions: number): Names {
  if (!new RegExp(NAMESPACE_PATTERN).test(namespace)) {
    throw new Error(`namespace "${namespace}" must match ${NAMESPACE_PATTERN}`);
  }
  const s = namespace ? `${namespace}.` : '';
  const stream = (name: string) => (namespace ? `${namespace}_${name}` : name);
  const token = (id: string) => partitionToken(partitionOf(id, partitions));
  return {
    namespace,
    partitions,
    streams: {
      changes: stream('CHANGES'),
      invoices: stream('INVOICES'),
      inbound: stream('INBOUND'),
      dlq: stream('DLQ'),
    },
    streamSubjects: {
      changes: `${s}changes.>`,
      invoices: `${s}invoice.>`,
      inbound: `${s}inbound.>`,
      dlq: `${s}dlq.>`,
    },
    customerSubject: (customerId) => `${s}changes.customer.${token(customerId)}.${customerId}`,
    invoiceSubject: (invoiceId, customerId) => `${s}invoice.${token(customerId)}.${invoiceId}`,
    customerHistoryFilter: (customerId) => `${s}changes.customer.*.${customerId}`,
    customerPartitionFilter: (p) => `${s}changes.customer.${partitionToken(p)}.*`,
    invoicePartitionFilter: (p) => `${s}invoice.${partitionToken(p)}.*`,
    inboundSubject: (source, eventType, about) =>
      `${s}inbound.${source}.${eventType}.${partitionToken(inboundPartition(about, partitions))}`,
    legacyInboundSubject: (source, eventType) => `${s}inbound.${source}.${eventType}`,
    inboundPartitionFilter: (source, eventFilter, p) =>
      `${s}inbound.${source}.${eventFilter}.${partitionToken(p)}`,
    dlqSubject: (source) => `${s}dlq.${source}`,
    bucket: (name) => stream(name),
  };
}
