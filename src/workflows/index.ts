// Every workflow the worker registers (the bundle's entry point).
export { deployCluster } from './deploy-cluster';
export { runbookBatch } from './batch';
export { failoverVerification } from './failover-verification';
export { clusterLock } from './cluster-lock';
export { cleanupCluster, upgradeCluster } from './upgrade-cluster';
export { backupCluster, defragEtcd, disarmEtcd, replaceEtcdMember, restoreCluster, rotateEtcdCertificates } from './etcd';
