// Every workflow the worker registers (the bundle's entry point).
export { deployCluster } from './deploy-cluster';
export { rolloutDataPlaneBatch } from './rollout';
export { failoverVerification } from './failover-verification';
export { clusterLock } from './cluster-lock';
