// firewalld commands that open a role's ports (the runbook: "configure SELinux and the firewall on
// every node to allow access to the ports"). Preflight prints them; --fix-firewall runs them.
import { change, probe } from './types';

/** Exit codes: 0 running, 252 not running, 36 no D-Bus (installed, cannot be running), 127 not installed. */
export const firewalldState = () => probe(['firewall-cmd', '--state'], 'read the firewalld state', { sudo: true, okExit: [0, 1, 36, 127, 252] });
export const firewalldListPorts = () => probe(['firewall-cmd', '--list-ports'], 'list the ports firewalld opens', { sudo: true, okExit: [0, 1, 127, 252] });
export const selinuxState = () => probe(['getenforce'], 'read the SELinux mode', { okExit: [0, 1, 127] });

export const openPorts = (ports: number[]) => [
  ...ports.map((p) => change(['firewall-cmd', '--permanent', `--add-port=${p}/tcp`], `open ${p}/tcp in firewalld (permanent)`)),
  change(['firewall-cmd', '--reload'], 'reload firewalld'),
];
