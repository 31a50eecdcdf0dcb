// Builds the worker: the workflows bundle and the activities, sharing one SSH pool. Nothing else.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { deployActivities } from './activities/deploy';
import { drillActivities } from './activities/drill';
import { Client, Connection } from '@temporalio/client';
import { connectionOptions, type TemporalSettings } from './client';
import { routeHttpThrough, SshPool } from './remote/ssh';

/** A bundle prepared at build time (scripts/bundle-workflows) starts the worker in well under a second. */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

/** Use the prebuilt bundle only if it is newer than every compiled workflow file (never a stale one). */
function freshBundle(): string | undefined {
  if (!existsSync(PREBUILT_BUNDLE)) return undefined;
  const built = statSync(PREBUILT_BUNDLE).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.js') ? statSync(join(dir, e.name)).mtimeMs : 0)));
  return built >= newest(__dirname) ? PREBUILT_BUNDLE : undefined;
}

/** The prebuilt bundle when it is current, else the workflow sources (bundled at start). */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  return freshBundle() ? { workflowBundle: { codePath: PREBUILT_BUNDLE } } : { workflowsPath: require.resolve('./workflows') };
}

export async function createWorker(s: TemporalSettings, opts: { pool?: SshPool; identity?: string } = {}) {
  const pool = opts.pool ?? new SshPool();
  // HTTP checks of hosts behind a jump host go through the same pooled jump connections as SSH.
  routeHttpThrough(pool);
  const connection = await NativeConnection.connect(connectionOptions(s));
  // Drill probes ask their workflow when to stop, and lock refusals name the holder: a client, made once.
  let client: Promise<Client> | undefined;
  const getClient = () => (client ??= Connection.connect(connectionOptions(s)).then((c) => new Client({ connection: c, namespace: s.namespace })));
  const worker = await Worker.create({
    connection,
    namespace: s.namespace,
    taskQueue: s.taskQueue,
    ...workflowSource(),
    activities: { ...deployActivities({ pool }), ...drillActivities({ pool, client: getClient }) },
    // Give running activities time to notice cancellation and stop cleanly on SIGTERM.
    shutdownGraceTime: '10s',
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  return { worker, pool, connection };
}
