// Drill scenarios as data: which node to lose, how (the fault), what to probe, and the hypotheses that
// must hold while it is lost. The workflow interprets these; nothing here does I/O (workflows import it).
import type { DrillThresholds, ScenarioId } from './journal';

export type FaultKind =
  /** The runbook's check: `docker compose down` of a gateway or dashboard. */
  | 'compose-down'
  /** The runbook's check: `docker stop` of an etcd member's container. */
  | 'etcd-stop'
  /** The whole host powers off (a host-fault driver: the lab's, or the inventory's commands). */
  | 'power-off'
  /** The host is cut off the network (a host-fault driver). */
  | 'disconnect';

export type VictimRule = 'data_plane' | 'control_plane' | 'etcd-follower' | 'etcd-leader' | 'etcd-any' | 'any-host';

/** Something the drill does while the fault holds, beyond watching. */
export type DuringAction =
  /** Write a route through the control plane LB and check that every gateway serves it. */
  | 'write-route-reaches-gateways'
  /** Restart one gateway (not the victim) and check it comes back and serves. */
  | 'restart-gateway';

export interface HypothesisSpec {
  id: string;
  text: string;
  /** The metric it reads and the threshold it compares with. */
  metric: 'dp.longestOutageMs' | 'cp.longestOutageMs' | 'dp.failuresDuringFault' | 'cpWriteRecoveryMs' | 'action' | 'recovered';
  threshold?: keyof DrillThresholds;
  /** For metric "action": the during-action whose success it is. */
  action?: DuringAction;
}

export interface Scenario {
  id: ScenarioId;
  title: string;
  description: string;
  victim: VictimRule;
  fault: FaultKind;
  /** Probes through the load balancers besides the victim probe. */
  probes: ('dp' | 'cp')[];
  during: DuringAction[];
  hypotheses: HypothesisSpec[];
}

/** Faults that take a whole host (a driver makes them; run only where the inventory allows them). */
export const isHostFault = (kind: FaultKind): kind is 'power-off' | 'disconnect' => kind === 'power-off' || kind === 'disconnect';

/** What losing an etcd member (follower or leader) must not break. */
const ETCD_LOSS_HYPOTHESES: HypothesisSpec[] = [
  { id: 'dp-no-failure', text: 'Gateways keep serving with no failed request', metric: 'dp.failuresDuringFault', threshold: 'etcdDpMaxFailures' },
  { id: 'cp-writes-recover', text: 'Control plane writes through the LB succeed again within the election window', metric: 'cpWriteRecoveryMs', threshold: 'etcdCpWriteRecoveryMs' },
  { id: 'route-propagates', text: 'A route written during the fault reaches every gateway', metric: 'action', action: 'write-route-reaches-gateways' },
];

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  'dp-node-loss': {
    id: 'dp-node-loss',
    title: 'Lose one gateway',
    description: 'Stop one API7-Gateway as the runbook does (`docker compose down`); the data plane load balancer keeps answering the probe route.',
    victim: 'data_plane',
    fault: 'compose-down',
    probes: ['dp'],
    during: [],
    hypotheses: [{ id: 'dp-keeps-serving', text: 'The data plane LB keeps answering the probe route', metric: 'dp.longestOutageMs', threshold: 'dpMaxOutageMs' }],
  },
  'cp-node-loss': {
    id: 'cp-node-loss',
    title: 'Lose one dashboard',
    description: 'Stop one API7-Dashboard (`docker compose down`); the control plane load balancer keeps serving authenticated reads and writes with a token issued before the fault.',
    victim: 'control_plane',
    fault: 'compose-down',
    probes: ['cp'],
    during: [],
    hypotheses: [{ id: 'cp-keeps-serving', text: 'The control plane LB keeps serving authenticated reads and writes (token issued before the fault)', metric: 'cp.longestOutageMs', threshold: 'cpMaxOutageMs' }],
  },
  'etcd-member-loss': {
    id: 'etcd-member-loss',
    title: 'Lose one etcd member (a follower)',
    description: 'Stop one etcd member (`docker stop`); gateways keep serving, control plane writes come back within the election window, and a route written during the fault reaches every gateway.',
    victim: 'etcd-follower',
    fault: 'etcd-stop',
    probes: ['dp', 'cp'],
    during: ['write-route-reaches-gateways'],
    hypotheses: ETCD_LOSS_HYPOTHESES,
  },
  'etcd-leader-loss': {
    id: 'etcd-leader-loss',
    title: 'Lose the etcd leader',
    description: 'Stop the etcd leader; a new leader is elected, gateways keep serving, control plane writes come back within the election window.',
    victim: 'etcd-leader',
    fault: 'etcd-stop',
    probes: ['dp', 'cp'],
    during: ['write-route-reaches-gateways'],
    hypotheses: ETCD_LOSS_HYPOTHESES,
  },
  'gateway-restart-during-etcd-degradation': {
    id: 'gateway-restart-during-etcd-degradation',
    title: 'Restart a gateway while an etcd member is down',
    description: 'With one etcd member down, restart a gateway: it must come back and serve (a known APISIX failure mode: "none of the configured etcd works well").',
    victim: 'etcd-follower',
    fault: 'etcd-stop',
    probes: ['dp'],
    during: ['restart-gateway'],
    hypotheses: [
      { id: 'gateway-restarts', text: 'A gateway restarted during etcd degradation comes back and serves', metric: 'action', action: 'restart-gateway' },
      { id: 'dp-keeps-serving', text: 'The data plane LB keeps answering while that gateway restarts', metric: 'dp.longestOutageMs', threshold: 'dpMaxOutageMs' },
    ],
  },
  'host-loss': {
    id: 'host-loss',
    title: 'Lose a whole host',
    description: 'Power a whole host off (every process on it stops at once); the data plane and control plane load balancers keep serving.',
    victim: 'any-host',
    fault: 'power-off',
    probes: ['dp', 'cp'],
    during: [],
    hypotheses: [
      { id: 'dp-keeps-serving', text: 'The data plane LB keeps answering the probe route', metric: 'dp.longestOutageMs', threshold: 'dpMaxOutageMs' },
      { id: 'cp-keeps-serving', text: 'The control plane LB keeps serving reads and writes', metric: 'cp.longestOutageMs', threshold: 'cpMaxOutageMs' },
      { id: 'recovers', text: 'The host rejoins: its services are healthy and back in rotation within the recovery deadline', metric: 'recovered' },
    ],
  },
  'etcd-partition': {
    id: 'etcd-partition',
    title: 'Cut one etcd host off the network',
    description: 'Disconnect one etcd host; the others keep quorum, gateways keep serving, control plane writes come back within the election window.',
    victim: 'etcd-any',
    fault: 'disconnect',
    probes: ['dp', 'cp'],
    during: ['write-route-reaches-gateways'],
    hypotheses: [
      { id: 'dp-keeps-serving', text: 'The data plane LB keeps answering the probe route', metric: 'dp.longestOutageMs', threshold: 'dpMaxOutageMs' },
      { id: 'cp-writes-recover', text: 'Control plane writes through the LB succeed again within the election window', metric: 'cpWriteRecoveryMs', threshold: 'etcdCpWriteRecoveryMs' },
      { id: 'route-propagates', text: 'A route written during the fault reaches every reachable gateway', metric: 'action', action: 'write-route-reaches-gateways' },
    ],
  },
};

export const DEFAULT_SCENARIOS: ScenarioId[] = ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss', 'gateway-restart-during-etcd-degradation'];

/** The runbook's three checks, as the deploy's failover verification runs them. */
export const RUNBOOK_SCENARIOS: ScenarioId[] = ['dp-node-loss', 'cp-node-loss', 'etcd-member-loss'];

export const isScenarioId = (s: string): s is ScenarioId => Object.prototype.hasOwnProperty.call(SCENARIOS, s);

/** Parse a comma-separated list; unknown names are reported with the known ones. */
export function parseScenarioList(list: string): { ids: ScenarioId[]; unknown: string[] } {
  const parts = list.split(',').map((s) => s.trim()).filter(Boolean);
  return { ids: parts.filter(isScenarioId), unknown: parts.filter((p) => !isScenarioId(p)) };
}

/** Pick deterministically among candidates: rotation index (runs so far) or a named victim. */
export function pickVictim(candidates: string[], rotation: number, named?: string): string | undefined {
  if (named !== undefined) return candidates.includes(named) ? named : undefined;
  if (candidates.length === 0) return undefined;
  return candidates[((rotation % candidates.length) + candidates.length) % candidates.length];
}
