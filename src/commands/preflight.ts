// Read-only probes of the runbook's prerequisites: kernel, Docker and compose versions, CPU and memory
// (2C4G), free disk, ports, SELinux, firewalld, clock.
import { probe } from './types';
export { firewalldListPorts, firewalldState, selinuxState } from './firewall';
export { detectPlugin as composePlugin, detectStandalone as composeStandalone } from './compose';
export { version as dockerVersion } from './docker';

export const whoami = () => probe(['id', '-un'], 'check the SSH login works');
export const sudoWorks = () => probe(['true'], 'check sudo works', { sudo: true });
export const kernel = () => probe(['uname', '-r'], 'read the kernel version');
export const osRelease = () => probe(['cat', '/etc/os-release'], 'read the OS release', { okExit: [0, 1] });
export const cpus = () => probe(['nproc'], 'count CPUs');
export const memInfo = () => probe(['cat', '/proc/meminfo'], 'read memory size');
/** Free space on the filesystem that will hold `path` (its nearest existing ancestor). */
export const freeDisk = (path: string) =>
  probe(['sh', '-c', 'p="$1"; while [ ! -e "$p" ]; do p=$(dirname "$p"); done; df -Pk "$p"', 'free-disk', path], `free disk space for ${path}`);
/** Listening TCP sockets, from /proc (present everywhere, unlike ss or netstat). */
export const listeningSockets = () => probe(['cat', '/proc/net/tcp', '/proc/net/tcp6'], 'list listening TCP ports', { okExit: [0, 1] });
export const clock = () => probe(['date', '+%s%N'], 'read the clock');
