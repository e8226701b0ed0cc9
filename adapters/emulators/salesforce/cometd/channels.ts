// The Change Data Capture channels the emulated org serves: `/data/ChangeEvents` for every
// selected entity, and `/data/<Object>ChangeEvent` for one. Channel names are case-sensitive.
import type { ChangeEvent } from '../cdc/index.ts';
import { OBJECTS } from '../schema.ts';

export type ChannelFilter = (event: ChangeEvent) => boolean;

const ALL = '/data/ChangeEvents';
const singleEntity = new Map(OBJECTS.map((o) => [`/data/${o.name}ChangeEvent`, o.name]));

/** Which events a channel carries, or undefined for a channel that does not exist. */
export function channelFilter(channel: string): ChannelFilter | undefined {
  if (channel === ALL) return () => true;
  const entity = singleEntity.get(channel);
  return entity === undefined ? undefined : (event) => event.entityName === entity;
}
