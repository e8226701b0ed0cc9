import type { Metadata } from './metadata.ts';

/** A registered endpoint; `secret` is stored but rendered only in the create response. */
export interface WebhookEndpointRecord {
  readonly id: string;
  readonly object: 'webhook_endpoint';
  api_version: string | null;
  application: null;
  created: number;
  description: string | null;
  enabled_events: string[];
  livemode: boolean;
  metadata: Metadata;
  secret: string;
  status: 'enabled' | 'disabled';
  url: string;
}

export function renderEndpoint(record: WebhookEndpointRecord, withSecret: boolean): object {
  if (withSecret) return record;
  const { secret: _secret, ...rest } = record;
  return rest;
}

export function endpointWants(record: WebhookEndpointRecord, type: string): boolean {
  return (
    record.status === 'enabled' &&
    (record.enabled_events.includes('*') || record.enabled_events.includes(type))
  );
}
