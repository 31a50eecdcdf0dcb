#!/usr/bin/env node
// The api7-ha command line: one file per command in this folder; this one wires them to commander and
// maps errors to exit codes (0 success, 1 the run failed or a plan is blocked, 2 bad input, 3 a plan
// with --detailed-exitcode found changes).
import { Command, CommanderError, Option } from 'commander';
import { InventoryError } from '../inventory/load';
import { EXIT, InputError, describeError, exitCodeFor, withTemporalFlags } from './common';
import { deployCommand } from './deploy';
import { cancelCommand, statusCommand, watchCommand } from './runs';
import { validateCommand } from './validate';
import { workerCommand } from './worker';
import { drillCommand } from './drill';
import { drillsCommand } from './drills';
import { replayCommand } from './replay';
import { reportCommand } from './report';
import { addScheduleCommands } from './schedule';
import { codecServerCommand } from './codec-server';
import { cleanupCommand, upgradeCommand } from './upgrade';
import { addEtcdCommands, etcdStatusCommand } from './etcd';

export function buildProgram(run: (p: Promise<number> | number) => void): Command {
  const program = new Command('api7-ha')
    .description('Deploy a high-availability API7 gateway estate over SSH and Docker with Temporal, and prove it survives node loss.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  withTemporalFlags(
    program
      .command('deploy')
      .description('deploy the inventory: preflight, etcd, quorum, control plane, data plane, load balancers, verification, failover checks')
      .requiredOption('-i, --inventory <path>', 'inventory YAML (api7-ha or Ansible format)')
      .option('--plan', 'print every command and file that would run or change, touching nothing (read-only probes only)')
      .option('--offline', 'with --plan: assume fresh hosts and do not connect at all')
      .option('--detailed-exitcode', 'with --plan: exit 0 no changes, 3 changes pending, 1 blocked (2 stays bad input)')
      .option('--wait', 'follow the run until it ends')
      .option('--json', 'print JSON (the run result, or the plan)')
      .option('--fix-firewall', 'open the roles\' ports in firewalld where preflight finds them closed')
      .addOption(new Option('--failover <when>', 'run the runbook\'s failover checks').choices(['auto', 'always', 'never']).default('auto')),
  ).action((opts: Record<string, unknown>) => run(deployCommand(opts)));

  for (const direction of ['upgrade', 'rollback'] as const)
    withTemporalFlags(
      program
        .command(direction)
        .description(
          direction === 'upgrade'
            ? 'upgrade dashboards and gateways to the packages the inventory names: etcd snapshot, canary proven by a drill, each host drained in HAProxy, swapped, checked, back in rotation; probes throughout'
            : 'roll every dashboard and gateway back to the release it ran before (kept on the host), in the same drained, gated order',
        )
        .requiredOption('-i, --inventory <path>', 'inventory YAML')
        .option('--plan', 'print per host the old -> new version, the order and the batches, touching nothing')
        .option('--wait', 'follow the run until it ends')
        .option('--json', 'print JSON')
        .option('--canary <n>', 'gateways in the first batch, proven by the canary drill before the rest (0: none)', '1')
        .option('--health-deadline <s>', 'seconds a swapped host may take to be healthy before it is rolled back', '60')
        .option('--drain-timeout <s>', "seconds a drained host's current sessions may take to finish", '30'),
    ).action((opts: Record<string, unknown>) => run(upgradeCommand(direction, opts)));

  withTemporalFlags(
    program
      .command('cleanup')
      .description('remove old releases (package folder, tarball, image) from the dashboards and gateways; never the running or the previous one')
      .requiredOption('-i, --inventory <path>', 'inventory YAML')
      .option('--keep <n>', 'old releases kept besides the running and the previous one', '1')
      .option('--wait', 'follow the run until it ends')
      .option('--json', 'print JSON'),
  ).action((opts: Record<string, unknown>) => run(cleanupCommand(opts)));

  withTemporalFlags(
    program
      .command('status')
      .description('show a run (state, step tree, result), or with -i the estate\'s etcd: members, leader, revision, db size, alarms, last backup, certificate expiry')
      .argument('[id]', 'workflow ID, e.g. deploy-lab')
      .option('-i, --inventory <path>', 'inventory YAML: show the estate instead of a run')
      .option('--json', 'print JSON'),
  ).action((id: string | undefined, opts: Record<string, unknown>) => {
    if (opts['inventory'] !== undefined) return run(id === undefined ? etcdStatusCommand(opts) : Promise.reject(new InputError('status takes a workflow ID or -i INVENTORY, not both')));
    return run(id === undefined ? Promise.reject(new InputError('status needs a workflow ID (e.g. deploy-lab) or -i INVENTORY')) : statusCommand(id, opts));
  });
  addEtcdCommands(program, run);
  withTemporalFlags(program.command('watch').description('follow a run live: steps, hosts, durations, failures').argument('<id>', 'workflow ID')).action((id: string, opts: Record<string, unknown>) =>
    run(watchCommand(id, opts)),
  );
  withTemporalFlags(
    program.command('cancel').description('cancel a run; it restores anything a check had stopped before it ends').argument('<id>', 'workflow ID').option('--json', 'print JSON').option('--timeout <s>', 'seconds to wait', '600'),
  ).action((id: string, opts: Record<string, unknown>) => run(cancelCommand(id, opts)));
  withTemporalFlags(
    program
      .command('drill')
      .description('run an HA drill: steady state, probes, fault, rollback, recovery, measured (default: dp-node-loss, cp-node-loss, etcd-member-loss, gateway-restart-during-etcd-degradation)')
      .requiredOption('-i, --inventory <path>', 'inventory YAML')
      .option('--scenarios <list>', 'comma-separated: config-propagation, dp-node-loss, cp-node-loss, etcd-member-loss, etcd-leader-loss, gateway-restart-during-etcd-degradation, host-loss, etcd-partition')
      .option('--victim <host>', 'the host to take (default: rotate across runs)')
      .option('--wait', 'follow the drill and print the summary (exit 1 unless every scenario passed)')
      .option('--json', 'print the journal as JSON'),
  ).action((opts: Record<string, unknown>) => run(drillCommand(opts)));
  withTemporalFlags(program.command('report').description('render a drill\'s journal as one self-contained HTML file').argument('<id>', 'drill (or deploy) workflow ID').option('-o, --output <file>', 'where to write it')).action(
    (id: string, opts: Record<string, unknown>) => run(reportCommand(id, opts)),
  );
  withTemporalFlags(program.command('drills').description('past drills of a cluster with verdicts and key figures').requiredOption('-c, --cluster <name>', 'cluster name').option('--limit <n>', 'how many', '20').option('--json', 'print JSON')).action(
    (opts: Record<string, unknown>) => run(drillsCommand(opts)),
  );
  addScheduleCommands(program, run);
  withTemporalFlags(program.command('replay').description('replay a run against the current workflow code: is it deterministic?').argument('[id]', 'workflow ID').option('--file <history.json>', 'a history exported with temporal workflow show --output json').option('--workflow-id <id>', 'with --file: the run\'s workflow ID (child IDs derive from it)').option('--json', 'print JSON')).action(
    (id: string | undefined, opts: Record<string, unknown>) => run(replayCommand(id, opts)),
  );
  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal Web UI and CLI, so people with the key see decoded payloads')
    .option('--codec-key <ref>', 'the key ring by reference: file:PATH or env:NAME (default: $API7HA_CODEC_KEY)')
    .option('--listen <address:port>', 'where to listen', '127.0.0.1:8888')
    .option('--cors-origin <origin...>', "the Web UI's origin(s) allowed to call from a browser, e.g. http://localhost:8233")
    .option('--authorization <ref>', 'require this Authorization header value, by reference: file:PATH or env:NAME (e.g. a file holding "Bearer <token>")')
    .option('--namespace <name...>', 'serve only these namespaces (the X-Namespace header)')
    .action((opts: Record<string, unknown>) => run(codecServerCommand(opts)));
  withTemporalFlags(
    program
      .command('worker')
      .description('run a worker (activities + workflows) until interrupted')
      .option('--metrics <address:port>', 'serve Prometheus metrics (the Temporal SDK\'s and api7-ha\'s: drill verdicts, outages, deploy durations) on http://ADDRESS/metrics; also $API7HA_METRICS')
      .option('--fault-driver <module>', 'load a host-fault driver module (the lab\'s: dist/lab/fault-driver.js); repeatable, also $API7_HA_FAULT_DRIVERS', (v: string, all: string[]) => [...all, v], [] as string[]),
  ).action((opts: Record<string, unknown>) => run(workerCommand(opts)));
  program
    .command('validate')
    .description('check an inventory (exit 2 with every problem and its fix)')
    .requiredOption('-i, --inventory <path>', 'inventory YAML')
    .option('--json', 'print JSON')
    .action((opts: Record<string, unknown>) => run(validateCommand(opts)));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> = Promise.resolve(0);
  const program = buildProgram((p) => {
    pending = Promise.resolve(p);
    // Awaited below; this only keeps Node from reporting it as unhandled in between.
    pending.catch(() => undefined);
  });
  try {
    await program.parseAsync(argv);
    return await pending;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is bad input.
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.badInput;
    }
    const code = exitCodeFor(e);
    process.stderr.write(`${e instanceof InventoryError ? '' : 'error: '}${describeError(e)}\n`);
    return code;
  }
}

/** Exit once stdout and stderr are flushed: a pipe reader (jq, a test) must get all of a large --json. */
export function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) {
  main(process.argv).then(exitAfterFlush, (e: unknown) => {
    process.stderr.write(`error: ${describeError(e)}\n`);
    exitAfterFlush(EXIT.failed);
  });
}
