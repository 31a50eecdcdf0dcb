#!/usr/bin/env node
/**
 * `npm run lab -- <command>`: the multi-host lab from the command line. Thin: parses arguments,
 * calls the Lab API, prints results. Exit codes: 0 ok, 1 failure, 2 bad arguments / refused.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_GATEWAYS, DEFAULT_SHAPE, Lab, LabUsageError, MAX_GATEWAYS, MIN_GATEWAYS, defaultLabDir, type HostStatus, type LabInfo, type LabShape, type LabStatus } from './lab';

const usage = (dir: string): string => `Usage: npm run lab -- [--dir DIR] [--quiet] <command> [args]

Commands:
  up [--gateways N]    Build the lab (or verify it, if it is already up). N gateway hosts
                       (ha4..ha(3+N)), ${MIN_GATEWAYS}..${MAX_GATEWAYS}, default ${DEFAULT_GATEWAYS}. Writes inventory.yaml.
     [--compose plugin|v1|both]  docker compose on the hosts (default ${DEFAULT_SHAPE.compose})
     [--network bridge|host]     the vendor packages' network (default ${DEFAULT_SHAPE.network}: as shipped)
     [--bastion]                 hosts behind a jump host, on a bridge the machine has no route to
     [--ssh-port N]              sshd's port on every host (default ${DEFAULT_SHAPE.sshPort})
     [--firewalld H,H]           hosts that run firewalld
  down                 Stop every lab process and remove namespaces, mounts, links, files
                       (the artifact cache stays).
  status [--json]      Per host: link, sshd, engine, containers, memory (exit 1 if any is down).
  info [--json]        Addresses and paths of the running lab.
  power-off HOST       The host stops abruptly (NIC dark, every process SIGKILLed); files persist.
  power-on HOST        Boot it again (sshd, dockerd; restart-policy containers come back).
  disconnect HOST      Take the host's link down.
  reconnect HOST       Bring it back.
  ssh HOST [CMD...]    ssh into a host with the lab key (host key checked against known_hosts).
  exec HOST CMD...     Run CMD inside the host's namespaces without ssh (DOCKER_HOST set).

Options:
  --dir DIR            Lab directory (default: $API7HA_LAB_DIR, else <repo>/.lab; here ${dir}).
  --quiet, -q          Only print results, not progress.
  --help, -h           This help.
`;

class UsageError extends Error {}

interface Parsed {
  dir?: string;
  quiet: boolean;
  command?: string;
  args: string[];
}

function parseGlobal(argv: string[]): Parsed {
  const out: Parsed = { quiet: false, args: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return { ...out, command: 'help' };
    if (a === '--quiet' || a === '-q') out.quiet = true;
    else if (a === '--dir' || a.startsWith('--dir=')) {
      const v = a === '--dir' ? argv[++i] : a.slice('--dir='.length);
      if (!v) throw new UsageError('--dir needs a directory: --dir /path/to/lab');
      out.dir = v;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (options go before the command; see --help)`);
    else break;
  }
  out.command = argv[i];
  out.args = argv.slice(i + 1);
  return out;
}

/** Options of one subcommand: known flags with or without values; anything else is an error. */
function parseFlags(command: string, args: string[], spec: Record<string, 'value' | 'bool'>): { flags: Record<string, string | true>; rest: string[] } {
  const flags: Record<string, string | true> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      flags.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = spec[name];
    if (!kind) throw new UsageError(`${command}: unknown option --${name}${Object.keys(spec).length ? ` (known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')})` : ''}`);
    if (kind === 'bool') {
      if (inline !== undefined) throw new UsageError(`${command}: --${name} takes no value`);
      flags[name] = true;
    } else {
      const v = inline ?? args[++i];
      if (v === undefined || v === '') throw new UsageError(`${command}: --${name} needs a value, e.g. --${name} 2`);
      flags[name] = v;
    }
  }
  return { flags, rest };
}

function parseGateways(v: string | true | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < MIN_GATEWAYS || Number(v) > MAX_GATEWAYS) {
    throw new UsageError(`--gateways must be a whole number from ${MIN_GATEWAYS} to ${MAX_GATEWAYS}, e.g. --gateways ${DEFAULT_GATEWAYS} (got ${String(v)})`);
  }
  return Number(v);
}

function oneHost(command: string, rest: string[]): string {
  if (rest.length !== 1) throw new UsageError(`${command} needs exactly one host name, e.g. \`lab ${command} ha1\``);
  return rest[0]!;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

function printInfo(info: LabInfo): void {
  const rows = [['HOST', 'ADDRESS', 'ROLES'], ...info.hosts.map((h) => [h.name, h.address, h.roles.join(',')]), [info.upstream.name, info.upstream.address, 'upstream (not in inventory)']];
  console.log(table(rows));
  console.log(`\nlab ${info.prefix} on ${info.subnet} (bridge ${info.bridge}, machine is .1)`);
  console.log(`inventory: ${info.inventoryPath}`);
  console.log(`ssh:       npm run lab -- ssh ${info.hosts[0]?.name ?? 'HOST'}   (the lab key, pinned host keys${info.bastion ? `, through the bastion ${info.bastion.address}` : ''})`);
}

function yesNo(b: boolean | undefined): string {
  return b === undefined ? '-' : b ? 'up' : 'DOWN';
}

function printStatus(s: LabStatus): void {
  if (s.state === 'absent') {
    console.log(`no lab in ${s.dir}`);
    return;
  }
  console.log(`lab ${s.prefix} in ${s.dir}: ${s.state}, ${s.subnet}, bridge ${s.bridge} ${s.bridgeUp ? 'up' : 'DOWN'}`);
  const note = (h: HostStatus): string => [h.poweredOff ? 'powered off' : '', h.disconnected ? 'disconnected' : '', h.exists ? '' : 'MISSING'].filter(Boolean).join(', ');
  const rows = [
    ['HOST', 'ADDRESS', 'LINK', 'SSHD', 'ENGINE', 'ECHO', 'RSS MiB', 'CONTAINERS', 'NOTE'],
    ...s.hosts.map((h) => [
      h.name,
      h.address,
      h.link === 'up' ? 'up' : h.link.toUpperCase(),
      yesNo(h.sshd),
      yesNo(h.engine),
      yesNo(h.echo),
      (h.rssKiB.total / 1024).toFixed(1),
      String(h.containers.filter((c) => c.state === 'running').length) + (h.containers.length ? `/${h.containers.length}` : ''),
      note(h),
    ]),
  ];
  console.log(table(rows));
  const withContainers = s.hosts.filter((h) => h.containers.length > 0);
  if (withContainers.length > 0) {
    console.log('');
    console.log(
      table([
        ['HOST', 'CONTAINER', 'IMAGE', 'STATUS'],
        ...withContainers.flatMap((h) => h.containers.map((c) => [h.name, c.name, c.image, c.status])),
      ]),
    );
  }
}

async function main(argv: string[]): Promise<number> {
  const g = parseGlobal(argv);
  const started = Date.now();
  const log = (line: string): void => {
    if (!g.quiet) process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  };
  if (!g.command || g.command === 'help') {
    process.stdout.write(usage(g.dir ?? safeDefaultDir()));
    return g.command ? 0 : 2;
  }
  const lab = new Lab({ ...(g.dir ? { dir: g.dir } : {}), log });
  const cmd = g.command;
  switch (cmd) {
    case 'up': {
      const { flags, rest } = parseFlags(cmd, g.args, { gateways: 'value', compose: 'value', network: 'value', bastion: 'bool', 'ssh-port': 'value', firewalld: 'value' });
      if (flags.help) return help();
      if (rest.length) throw new UsageError(`up takes no arguments (got ${rest.join(' ')}); did you mean --gateways ${rest[0]}?`);
      const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);
      const port = str(flags['ssh-port']);
      if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new UsageError(`--ssh-port must be a port number, e.g. --ssh-port 2222 (got ${port})`);
      const info = await lab.up({
        gateways: parseGateways(flags.gateways) ?? DEFAULT_GATEWAYS,
        ...(str(flags.compose) ? { compose: str(flags.compose) as LabShape['compose'] } : {}),
        ...(str(flags.network) ? { network: str(flags.network) as LabShape['network'] } : {}),
        ...(flags.bastion ? { bastion: true } : {}),
        ...(port ? { sshPort: Number(port) } : {}),
        ...(str(flags.firewalld) ? { firewalld: str(flags.firewalld)!.split(',').filter(Boolean) } : {}),
      });
      printInfo(info);
      const r = lab.lastUp;
      if (r) {
        const t = Object.entries(r.timingsMs)
          .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}s`)
          .join(', ');
        console.log(`\n${r.action}${r.cleanedStale ? ' (after cleaning up a stale lab)' : ''}${r.repairedHosts.length ? ` (${r.repairedHosts.join(', ')})` : ''}: ${t}`);
      }
      return 0;
    }
    case 'down': {
      const { flags, rest } = parseFlags(cmd, g.args, {});
      if (flags.help) return help();
      if (rest.length) throw new UsageError('down takes no arguments');
      const t0 = Date.now();
      await lab.down();
      console.log(`down in ${((Date.now() - t0) / 1000).toFixed(2)}s`);
      return 0;
    }
    case 'status': {
      const { flags, rest } = parseFlags(cmd, g.args, { json: 'bool' });
      if (flags.help) return help();
      if (rest.length) throw new UsageError('status takes no arguments (only --json)');
      const s = await lab.status();
      if (flags.json) console.log(JSON.stringify(s, null, 2));
      else printStatus(s);
      return s.state === 'ready' && s.hosts.every((h) => h.sshd && h.engine && h.link === 'up') ? 0 : 1;
    }
    case 'info': {
      const { flags, rest } = parseFlags(cmd, g.args, { json: 'bool' });
      if (flags.help) return help();
      if (rest.length) throw new UsageError('info takes no arguments (only --json)');
      const info = await lab.info();
      if (!info) {
        console.error(`no lab is up in ${lab.dir}; run \`lab up\``);
        return 1;
      }
      if (flags.json) console.log(JSON.stringify(info, null, 2));
      else printInfo(info);
      return 0;
    }
    case 'power-off':
    case 'power-on':
    case 'disconnect':
    case 'reconnect': {
      const { flags, rest } = parseFlags(cmd, g.args, {});
      if (flags.help) return help();
      const host = oneHost(cmd, rest);
      const t0 = Date.now();
      if (cmd === 'power-off') await lab.powerOff(host);
      else if (cmd === 'power-on') await lab.powerOn(host);
      else if (cmd === 'disconnect') await lab.disconnect(host);
      else await lab.reconnect(host);
      console.log(`${cmd} ${host}: done in ${((Date.now() - t0) / 1000).toFixed(2)}s`);
      return 0;
    }
    case 'ssh': {
      const [host, ...remote] = g.args;
      if (!host || host.startsWith('-')) throw new UsageError('ssh needs a host name first, e.g. `lab ssh ha1 docker ps`');
      const argv = lab.sshArgv(host, remote[0] === '--' ? remote.slice(1) : remote);
      return await new Promise<number>((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
      });
    }
    case 'exec': {
      const [host, ...rest] = g.args;
      const command = rest[0] === '--' ? rest.slice(1) : rest;
      if (!host || command.length === 0) throw new UsageError('exec needs a host and a command, e.g. `lab exec ha1 docker ps`');
      const r = await lab.hostExec(host, command);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}; commands: up, down, status, info, power-off, power-on, disconnect, reconnect, ssh, exec (see --help)`);
  }

  function help(): number {
    process.stdout.write(usage(g.dir ?? safeDefaultDir()));
    return 0;
  }
}

function safeDefaultDir(): string {
  try {
    return defaultLabDir();
  } catch {
    return '(unknown)';
  }
}

// `lab status | head` closes our stdout early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof LabUsageError) {
      console.error(`lab: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
      if (process.env.API7HA_DEBUG && e instanceof Error && e.stack) console.error(e.stack);
      process.exitCode = 1;
    }
  },
);
