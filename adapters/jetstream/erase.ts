// A customer's messages, removed from every stream. JetStream cannot rewrite a stored message, but
// it can purge a subject and delete (and overwrite) one by sequence:
// - CHANGES and INVOICES: the subjects carry the customer's id (or its invoices'). Each message
//   on them is deleted by sequence with its bytes overwritten (a purge by subject only marks them
//   removed, leaving the bytes in the stream's files until the block is compacted), then the
//   subjects are purged, for any stored since the read.
// - INBOUND: a Stripe event's subject carries the partition of the Stripe customer it is about, not
//   the customer, so that partition's events (and the unpartitioned ones stored before partitions)
//   are read and those naming one of the customer's ids deleted: a read of 1/partitions of the
//   stream per erasure. No index of sequences is kept: erasures are rare, and an index would cost
//   a write on every event.
// - DLQ: every letter is read (the DLQ is what still needs a person, so it stays small), and those
//   whose subject or original bytes name one of the ids deleted.
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionToken, partitionOf, type Names } from '../../core/subjects.ts';
import { readStream } from './read-stream.ts';

export interface ErasedFrom {
  changes: number;
  invoices: number;
  inbound: number;
  dlq: number;
}

export interface ErasureIds {
  readonly customerId: string;
  /** The customer's ids at the targets (`cus_…`, Salesforce record ids). */
  readonly externalIds: readonly string[];
  readonly invoiceIds: readonly string[];
}

export async function eraseFromStreams(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: Names,
  ids: ErasureIds,
): Promise<ErasedFrom> {
  const { streams } = names;
  const changes = await eraseSubject(
    nc,
    jsm,
    streams.changes,
    names.customerHistoryFilter(ids.customerId),
  );
  let invoices = 0;
  for (const invoiceId of ids.invoiceIds)
    invoices += await eraseSubject(
      nc,
      jsm,
      streams.invoices,
      names.invoiceSubject(invoiceId, ids.customerId),
    );
  const needles = [ids.customerId, ...ids.externalIds, ...ids.invoiceIds].filter((n) => n !== '');
  const names_ = names.namespace ? `${names.namespace}.` : '';
  let inbound = 0;
  for (const filter of inboundFilters(names_, ids.externalIds, names.partitions))
    inbound += await deleteMatching(nc, jsm, streams.inbound, filter, needles, (m) => [m.data]);
  const dlq = await deleteMatching(nc, jsm, streams.dlq, `${names_}dlq.>`, needles, letterBytes);
  return { changes, invoices, inbound, dlq };
}

/**
 * The INBOUND subjects an event about one of `externalIds` can be on: its partition's, for event
 * types of two tokens (`customer.updated`, `invoice.paid`) and of three (`customer.source.created`,
 * stored though no consumer reads them), and the unpartitioned two-token ones stored before
 * partitions. The partition is drawn with today's RTWS_PARTITIONS, which is fixed for the life of
 * a deployment.
 */
function inboundFilters(prefix: string, externalIds: readonly string[], partitions: number) {
  const tokens = new Set(externalIds.map((id) => partitionToken(partitionOf(id, partitions))));
  return [
    ...[...tokens].flatMap((t) => [`${prefix}inbound.*.*.*.${t}`, `${prefix}inbound.*.*.*.*.${t}`]),
    `${prefix}inbound.*.*.*`,
  ];
}

/** A dead letter's subject and its original bytes (base64 in the letter). */
function letterBytes(m: JsMsg): Uint8Array[] {
  try {
    const letter = m.json<{ subject?: string; data_base64?: string }>();
    return [
      m.data,
      Buffer.from(letter.subject ?? ''),
      Buffer.from(letter.data_base64 ?? '', 'base64'),
    ];
  } catch {
    return [m.data];
  }
}

/** Deletes, overwriting, every message on `filter`, then purges it: how many there were. */
async function eraseSubject(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  filter: string,
): Promise<number> {
  const found: number[] = [];
  await readStream(nc, stream, filter, (m) => found.push(m.seq));
  for (const seq of found) await deleteErasing(jsm, stream, seq);
  return found.length + (await jsm.streams.purge(stream, { filter })).purged;
}

/** Deletes a message, overwriting its bytes; one gone already (a trim, a retry) is done. */
export async function deleteErasing(
  jsm: JetStreamManager,
  stream: string,
  seq: number,
): Promise<void> {
  await jsm.streams.deleteMessage(stream, seq, true).catch((err: unknown) => {
    if (!/no message found/i.test(String(err))) throw err;
  });
}

/** Reads every message on `filter` and deletes (overwriting) each one naming a needle. */
async function deleteMatching(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  filter: string,
  needles: readonly string[],
  bytesOf: (m: JsMsg) => Uint8Array[],
): Promise<number> {
  const found: number[] = [];
  await readStream(nc, stream, filter, (m) => {
    if (bytesOf(m).some((bytes) => names(bytes, needles))) found.push(m.seq);
  });
  for (const seq of found) await deleteErasing(jsm, stream, seq);
  return found.length;
}

function names(bytes: Uint8Array, needles: readonly string[]): boolean {
  const text = Buffer.from(bytes).toString('utf8');
  return needles.some((n) => text.includes(n));
}
