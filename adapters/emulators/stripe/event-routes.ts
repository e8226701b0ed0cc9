import type { ApiServices, Handler } from './api-context.ts';
import { invalidRequest, resourceMissing } from './errors.ts';
import type { EventObject } from './events.ts';
import { typeMatcher } from './events.ts';
import { allOf, createdFilter, listEnvelope } from './list-filters.ts';
import { checkKeys, listLimit, optString, optStringArray } from './params.ts';

const LIST_PARAMS: ReadonlySet<string> = new Set([
  'type',
  'types',
  'created',
  'delivery_success',
  'limit',
  'starting_after',
  'ending_before',
  'expand',
]);

function liveEvent(svc: ApiServices, id: string): EventObject {
  const event = svc.state.events.get(id);
  if (!event) throw resourceMissing('event', id);
  return event;
}

export const retrieveEvent: Handler = (req, svc, [id]) => {
  checkKeys(req.params, new Set(['expand']));
  return liveEvent(svc, id!);
};

export const listEvents: Handler = (req, svc) => {
  checkKeys(req.params, LIST_PARAMS);
  const type = optString(req.params, 'type');
  const types = optStringArray(req.params, 'types');
  if (type && types)
    throw invalidRequest('You may only specify one of these parameters: type, types.', 'types');
  if (types && types.length > 20)
    throw invalidRequest('types may contain at most 20 entries.', 'types');
  const patterns = type ? [type] : types;
  const matches = patterns && patterns.length > 0 ? typeMatcher(patterns) : undefined;
  const created = createdFilter(req.params);
  const page = svc.state.events.page(
    {
      limit: listLimit(req.params),
      startingAfter: optString(req.params, 'starting_after') ?? undefined,
      endingBefore: optString(req.params, 'ending_before') ?? undefined,
    },
    allOf<EventObject>(matches && ((e) => matches(e.type)), created && ((e) => created(e.created))),
  );
  return listEnvelope(page.data, page.hasMore, '/v1/events');
};
