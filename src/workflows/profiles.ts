// Named activity option profiles: how long a kind of step may take, how often it heartbeats, and how
// it is retried. Each operation names its profile (src/runbook/operations.ts); nothing else sets timeouts.
import type { ActivityOptions } from '@temporalio/workflow';
import type { ProfileName } from '../runbook/operations';

export const PROFILES: Record<ProfileName, ActivityOptions> = {
  /** Read-only checks and small changes: quick retries for transient SSH/Docker hiccups. */
  quick: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds', maximumAttempts: 5 },
  },
  /** Uploads and image loads: long, heartbeating, resumed after a crash from what the host already has. */
  transfer: {
    startToCloseTimeout: '60 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  },
  /** Waiting for health, quorum or propagation: the activity polls; a retry starts a fresh deadline. */
  waits: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '20 seconds', maximumAttempts: 3 },
  },
  /** Restores after a fault: no attempt limit, retried until they succeed (a stopped member must come back). */
  restores: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  },
  /** Probes are not retried (a retry would lose the samples); they heartbeat and stop on request. */
  probing: { startToCloseTimeout: '2 hours', heartbeatTimeout: '15 seconds', retry: { maximumAttempts: 1 } },
};
