// Named activity option profiles: how long a kind of step may take, how often it heartbeats, and how
// it is retried. Workflows pick a profile per call; nothing else sets timeouts.
import type { ActivityOptions } from '@temporalio/workflow';

/** Read-only checks and small changes: quick retries for transient SSH/Docker hiccups. */
export const quick: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds', maximumAttempts: 5 },
};

/** Uploads and image loads: long, heartbeating, resumed after a crash from what the host already has. */
export const transfer: ActivityOptions = {
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

/** Waiting for health, quorum or propagation: the activity polls; a retry starts a fresh deadline. */
export const waits: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '20 seconds', maximumAttempts: 3 },
};

/** Restores after a fault: no attempt limit, retried until they succeed (a stopped member must come back). */
export const restores: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

export const withSummary = (profile: ActivityOptions, summary: string): ActivityOptions => ({ ...profile, summary });
