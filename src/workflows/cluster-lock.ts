// One deploy or drill at a time per cluster. The lock is a child workflow with the fixed ID
// lockWorkflowId(cluster): starting it fails while another run holds it (workflow IDs are unique,
// strongly consistent, unlike a visibility query), and it dies with its holder (parent close policy
// TERMINATE).
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, ChildWorkflowCancellationType, ParentClosePolicy, condition, proxyActivities, setHandler, startChild, workflowInfo, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { holderQuery, lockWorkflowId, releaseSignal, type LockHolder } from '../contracts';
import { OPERATION_META } from '../runbook/operations';
import { PROFILES } from './profiles';

export async function clusterLock(holder: LockHolder): Promise<void> {
  let released = false;
  setHandler(holderQuery, () => holder);
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
}

const act = proxyActivities<Activities>(PROFILES[OPERATION_META.lockHolder.profile]);

/** Take the cluster's lock or fail (non-retryable) naming the run that holds it. */
export async function acquireClusterLock(cluster: string, kind: LockHolder['kind']): Promise<ChildWorkflowHandle<typeof clusterLock>> {
  try {
    return await startChild(clusterLock, {
      workflowId: lockWorkflowId(cluster),
      args: [{ workflowId: workflowInfo().workflowId, kind }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      // Cancelling the holder must not release the lock: its rollbacks still run. The holder releases
      // it when done (or it dies with the holder).
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Lock: one deploy or drill at a time on ${cluster}`,
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    const holder = await act.lockHolder(cluster);
    throw ApplicationFailure.nonRetryable(
      `refused: ${holder ? `${holder.kind} ${holder.workflowId} is running` : 'another deploy or drill is running'} on cluster ${cluster}; one deploy, drill, restore, member replacement or etcd upkeep at a time per cluster`,
      'ClusterBusy',
      holder,
    );
  }
}

export async function releaseClusterLock(lock: ChildWorkflowHandle<typeof clusterLock>): Promise<void> {
  try {
    await lock.signal(releaseSignal);
    await lock.result();
  } catch {
    // Already gone (terminated or timed out): released either way; never hide the run's own outcome.
  }
}
