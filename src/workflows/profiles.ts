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
  /**
   * Probes whose samples go back to the drill every second: a worker that dies is noticed within the
   * heartbeat timeout and the probes go on in a new attempt on another worker (the gap is marked).
   */
  resumableProbes: {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '5 seconds',
    retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20 },
  },
  /** A notification: a few quick retries, then the run records it as undelivered and goes on. */
  notify: {
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '8 seconds', maximumAttempts: 4, nonRetryableErrorTypes: ['NotificationRefused', 'NotificationConfiguration', 'SecretError'] },
  },
};
