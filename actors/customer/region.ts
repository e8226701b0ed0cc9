// One target's region. Every target gets the same region; the context holds the truth and the
// region's state mirrors the target's status, so that a snapshot reads at a glance and entering
// `failed` or `deleted` can announce itself to the runtime.
import { TARGET_STATUSES } from './context.ts';
import { TARGETS, type TargetName } from './targets.ts';

export function targetRegion(target: TargetName) {
  const params = { target };
  const toRoute = '.route';
  const outcomes = Object.fromEntries(
    TARGETS[target].outcomeTypes.map((type) => [
      type,
      {
        guard: { type: 'isOwnOutcome' as const, params },
        actions: { type: 'applyOutcome' as const, params },
        target: toRoute,
      },
    ]),
  );
  return {
    initial: 'new',
    states: {
      /** Transient: settles on the state named by the target's status after every change. */
      route: {
        always: [
          { guard: { type: 'isDeletedRemotely', params }, target: 'deletedRemotely' },
          ...TARGET_STATUSES.map((status) => ({
            guard: { type: 'statusIs' as const, params: { target, status } },
            target: status,
          })),
        ],
      },
      new: {},
      pending: {},
      retrying: {},
      paused: {},
      synced: {},
      failed: { entry: { type: 'deadLetter', params } },
      /** Reported like a failure (a DLQ letter whose retry tries the link again). */
      unlinked: { entry: { type: 'deadLetter', params } },
      deleted: {},
      /**
       * Status `deleted`, recorded by versions that took a 404 on an update as a deletion (the
       * runtime then deleted the customer everywhere). Never entered now; kept so that their
       * snapshots restore.
       */
      deletedRemotely: {},
      /**
       * A target switched on since the customer's last catalogue change: its next one, or a
       * resync or an export (`RetryRequested`), moves it to `new` and plans.
       */
      off: {},
    },
    on: {
      DesiredChanged: {
        guard: { type: 'isLive', params },
        actions: { type: 'planTarget', params },
        target: toRoute,
      },
      Reroute: { target: toRoute },
      RetryRequested: {
        guard: { type: 'isRetryFor', params },
        actions: { type: 'applyRetryRequest', params },
        target: toRoute,
      },
      ...outcomes,
    },
  } as const;
}
