// Names an inventory may use that other layers define the meaning of: the drill scenarios it may
// select and the notification events its webhooks may subscribe to. They live here, below the
// inventory's schema, so validation needs no import from the drills or the notifications (which
// import the inventory). Pure: workflows import it.

/** Every drill scenario, in the catalogue's order (src/drills/scenarios.ts defines each one). */
export const SCENARIO_IDS = [
  'dp-node-loss',
  'cp-node-loss',
  'etcd-member-loss',
  'etcd-leader-loss',
  'gateway-restart-during-etcd-degradation',
  'host-loss',
  'etcd-partition',
  'config-propagation',
] as const;

export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** Events a webhook may subscribe to (src/notifications/messages.ts builds each message). */
export const NOTIFICATION_EVENTS = [
  'drill.started',
  'drill.passed',
  'drill.failed',
  'drill.aborted',
  'drill.interrupted',
  'deploy.started',
  'deploy.passed',
  'deploy.failed',
  'backup.started',
  'backup.passed',
  'backup.failed',
  /** A restore after a fault failed: something is left broken. The one that must wake someone. */
  'rollback.failed',
] as const;

export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];
