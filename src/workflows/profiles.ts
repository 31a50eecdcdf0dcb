// Named activity option profiles: how long a kind of step may take, how often it heartbeats, and how
// it is retried. Each operation names its profile (src/runbook/operations.ts); nothing else sets timeouts.
//
// Heartbeat timeouts are what a worker crash costs: an activity that died with its worker is retried
// only once the server misses its heartbeat (then after the retry's initial interval). Activities
// heartbeat four times per timeout on a timer (activities/runtime.withAutoHeartbeat), whatever the
// command they run, so the short profiles can afford 2 s (a SIGKILL costs ~2-3 s, not the 10 s
// before); uploads and image loads keep 5 s, as a worker hashing or streaming a package is busier.
import type { ActivityOptions } from '@temporalio/workflow';
import type { ProfileName } from '../runbook/operations';

export const PROFILES: Record<ProfileName, ActivityOptions> = {
  /** Read-only checks and small changes: quick retries for transient SSH/Docker hiccups (~10 s of backoff:
   *  the first retry, the one after a crash, in a quarter of a second). */
  quick: {
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '2 seconds',
    retry: { initialInterval: '250 milliseconds', backoffCoefficient: 3, maximumInterval: '15 seconds', maximumAttempts: 5 },
  },
  /** Uploads and image loads: long, heartbeating, resumed after a crash from what the host already has. */
  transfer: {
    startToCloseTimeout: '60 minutes',
    heartbeatTimeout: '5 seconds',
    retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
  },
  /** Waiting for health, quorum or propagation: the activity polls; a retry starts a fresh deadline. */
  waits: {
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '2 seconds',
    retry: { initialInterval: '250 milliseconds', backoffCoefficient: 3, maximumInterval: '20 seconds', maximumAttempts: 3 },
  },
  /** Restores after a fault: no attempt limit, retried until they succeed (a stopped member must come back). */
  restores: {
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '2 seconds',
    retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  },
  /** A gate (an upgraded host's health check): a failed check is final (non-retryable); a lost worker is retried. */
  gate: { startToCloseTimeout: '15 minutes', heartbeatTimeout: '2 seconds', retry: { initialInterval: '250 milliseconds', maximumAttempts: 3 } },
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
