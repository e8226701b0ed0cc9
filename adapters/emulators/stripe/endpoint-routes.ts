import type { Handler } from './api-context.ts';
import { invalidRequest, resourceMissing } from './errors.ts';
import { listEnvelope } from './list-filters.ts';
import { applyMetadata, parseMetadata } from './metadata.ts';
import { checkKeys, listLimit, optBool, optString, optStringArray, reqString } from './params.ts';
import { renderEndpoint } from './webhook-endpoint.ts';

const CREATE_PARAMS: ReadonlySet<string> = new Set([
  'url',
  'enabled_events',
  'description',
  'metadata',
  'api_version',
  'expand',
  'connect',
]);

export const createEndpoint: Handler = (req, svc) => {
  checkKeys(req.params, CREATE_PARAMS);
  const url = reqString(req.params, 'url');
  if (!/^https?:\/\//.test(url)) throw invalidRequest(`Invalid URL: ${url}`, 'url', 'url_invalid');
  const events = optStringArray(req.params, 'enabled_events');
  if (!events || events.length === 0)
    throw invalidRequest(
      'Missing required param: enabled_events.',
      'enabled_events',
      'parameter_missing',
    );
  return svc.addEndpoint(url, undefined, events, req);
};

const UPDATE_PARAMS: ReadonlySet<string> = new Set([
  'url',
  'enabled_events',
  'description',
  'metadata',
  'disabled',
  'expand',
]);

/** Validates every parameter before changing anything, so a bad request changes nothing. */
export const updateEndpoint: Handler = (req, svc, [id]) => {
  const endpoint = svc.state.endpoints.get(id!);
  if (!endpoint) throw resourceMissing('webhook_endpoint', id!);
  checkKeys(req.params, UPDATE_PARAMS);
  const url = optString(req.params, 'url');
  if (url === null || (url !== undefined && !/^https?:\/\//.test(url)))
    throw invalidRequest(`Invalid URL: ${url ?? ''}`, 'url', 'url_invalid');
  const events = optStringArray(req.params, 'enabled_events');
  if (events?.length === 0) throw invalidRequest('Invalid array: enabled_events', 'enabled_events');
  const description = optString(req.params, 'description');
  const metadata = applyMetadata(endpoint.metadata, parseMetadata(req.params.metadata));
  const disabled = optBool(req.params, 'disabled');
  if (url !== undefined) endpoint.url = url;
  if (events) endpoint.enabled_events = events;
  if (description !== undefined) endpoint.description = description;
  endpoint.metadata = metadata;
  if (disabled !== undefined) endpoint.status = disabled ? 'disabled' : 'enabled';
  return renderEndpoint(endpoint, false);
};

export const retrieveEndpoint: Handler = (req, svc, [id]) => {
  const endpoint = svc.state.endpoints.get(id!);
  if (!endpoint) throw resourceMissing('webhook_endpoint', id!);
  return renderEndpoint(endpoint, false);
};

export const deleteEndpoint: Handler = (req, svc, [id]) => {
  const endpoint = svc.state.endpoints.get(id!);
  if (!endpoint) throw resourceMissing('webhook_endpoint', id!);
  svc.state.endpoints.remove(endpoint.id);
  return { id: endpoint.id, object: 'webhook_endpoint', deleted: true };
};

export const listEndpoints: Handler = (req, svc) => {
  checkKeys(req.params, new Set(['limit', 'starting_after', 'ending_before']));
  const page = svc.state.endpoints.page({
    limit: listLimit(req.params),
    startingAfter: optString(req.params, 'starting_after') ?? undefined,
    endingBefore: optString(req.params, 'ending_before') ?? undefined,
  });
  return listEnvelope(
    page.data.map((e) => renderEndpoint(e, false)),
    page.hasMore,
    '/v1/webhook_endpoints',
  );
};
