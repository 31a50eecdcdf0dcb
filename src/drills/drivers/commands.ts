// The `commands` host-fault driver, for real estates: argv templates from the inventory
// (drills.host_faults.commands), run on the worker machine without a shell. {host} and {address}
// in any element are replaced by the victim's inventory name and address (both validated there).
import { execFile } from 'node:child_process';
import type { HostFaultCommands } from '../../inventory/model';
import type { FaultHost, HostFaultAction, HostFaultDriver, HostFaultDriverFactory } from './types';

/** The argv an action runs for a host (pure; plans and tests read it). */
export function faultArgv(commands: HostFaultCommands, action: HostFaultAction, host: FaultHost): string[] | undefined {
  const template = { 'power-off': commands.powerOff, 'power-on': commands.powerOn, disconnect: commands.disconnect, reconnect: commands.reconnect }[action];
  return template?.map((arg) => arg.replaceAll('{host}', host.name).replaceAll('{address}', host.address));
}

const tail = (s: string) => s.trim().split('\n').slice(-5).join(' | ').slice(0, 500);

function run(argv: string[], timeoutS: number, signal?: AbortSignal): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) =>
    execFile(file!, args, { timeout: timeoutS * 1000, shell: false, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (!err) return resolve(tail(stdout));
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const why = e.killed ? `timed out after ${timeoutS} s` : typeof e.code === 'number' ? `exit ${e.code}` : (e.code ?? e.message);
      reject(new Error(`${argv.join(' ')}: ${why}${stderr ? `: ${tail(stderr)}` : ''}`));
    }),
  );
}

export const commandsDriver: HostFaultDriverFactory<'commands'> = {
  type: 'commands',
  create(spec): HostFaultDriver {
    const c = spec.commands;
    return {
      canDisconnect: !!c.disconnect && !!c.reconnect,
      async run(action, host, signal) {
        const argv = faultArgv(c, action, host);
        if (!argv?.length) throw new Error(`drills.host_faults.commands has no ${action.replace('-', '_')} command`);
        const out = await run(argv, c.timeoutS, signal);
        return `${action} ${host.name}: ${argv.join(' ')}${out ? ` (${out})` : ''}`;
      },
    };
  },
};
