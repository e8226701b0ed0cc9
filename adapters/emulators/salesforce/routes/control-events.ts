// Control endpoints for replication: the retained change events, gap and overflow events, the
// delivery allocation, CometD sessions, and the delete log's memory.
import type { SalesforceEmulator } from '../api.ts';
import type { GapChangeType } from '../cdc/index.ts';
import type { Reply } from '../http.ts';
import { badRequest, nonNegativeInteger, objectBody, ok, optionalString } from './control-body.ts';

/** The reply for one of these endpoints, or undefined when the action is none of them. */
export function eventsReply(
  action: string,
  bodyText: string,
  emulator: SalesforceEmulator,
): Reply | undefined {
  switch (action) {
    case 'GET /events':
      return { status: 200, body: emulator.changeEvents() };
    case 'POST /events/forget': {
      const body = objectBody(bodyText);
      const upTo = body.upToReplayId;
      if (upTo !== undefined && (typeof upTo !== 'number' || !Number.isInteger(upTo)))
        throw badRequest('upToReplayId must be an integer');
      return {
        status: 200,
        body: { forgotten: emulator.forgetChangeEvents({ upToReplayId: upTo }) },
      };
    }
    case 'POST /events/gap': {
      const body = objectBody(bodyText);
      return {
        status: 201,
        body: emulator.emitGapEvent({
          ...headerFields(body),
          changeType: body.changeType as GapChangeType,
          recordIds: body.recordIds as string[],
        }),
      };
    }
    case 'POST /events/overflow':
      return { status: 201, body: emulator.emitOverflowEvent(headerFields(objectBody(bodyText))) };
    case 'POST /events/allocation':
      emulator.setDailyDeliveredEventLimit(
        nonNegativeInteger(objectBody(bodyText), 'dailyDeliveredEventLimit'),
      );
      return ok;
    case 'POST /events/allocation/usage':
      emulator.setDeliveredEvents(nonNegativeInteger(objectBody(bodyText), 'deliveredEvents'));
      return ok;
    case 'POST /streaming/drop':
      return { status: 200, body: { dropped: emulator.dropStreamingClients() } };
    case 'POST /deleted/retention':
      emulator.setDeletedRetention(nonNegativeInteger(objectBody(bodyText), 'retentionMs'));
      return ok;
    case 'POST /deleted/forget': {
      const before = objectBody(bodyText).before;
      if (before !== undefined && typeof before !== 'string' && typeof before !== 'number')
        throw badRequest('before must be an ISO date or epoch milliseconds');
      return { status: 200, body: { forgotten: emulator.forgetDeletedRecords({ before }) } };
    }
    default:
      return undefined;
  }
}

function headerFields(body: Record<string, unknown>): {
  entityName: string;
  commitUser?: string;
  changeOrigin?: string;
} {
  const commitUser = optionalString(body, 'commitUser') ?? optionalString(body, 'as_user');
  const changeOrigin = optionalString(body, 'changeOrigin');
  return {
    entityName: body.entityName as string,
    ...(commitUser === undefined ? {} : { commitUser }),
    ...(changeOrigin === undefined ? {} : { changeOrigin }),
  };
}
