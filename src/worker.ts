// Builds the worker: the workflows bundle and the activities, sharing one SSH pool, connected like the
// client (TLS, API key) and with the same data converter (the payload codec when a key ring is given).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { FaultDrivers, driverModulesFromEnv } from './drills/drivers';
import { createClient, SettingsError, connectionOptions, unreachable, type TemporalSettings } from './client';
import { workerDataConverter } from './codec';
import { routeHttpThrough, SshPool } from './remote/ssh';

/**
 * Bundles prepared at build time (scripts/bundle-workflows) start the worker in well under a second.
 * Two of them: the failure converter is compiled into the workflow sandbox, and with the codec on it
 * moves failure messages (which name hosts and paths) into encrypted attributes.
 */
const PREBUILT_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');
const PREBUILT_ENCRYPTED_BUNDLE = join(__dirname, '..', 'workflow-bundle-encrypted.js');
export const prebuiltBundlePath = (encrypted: boolean) => (encrypted ? PREBUILT_ENCRYPTED_BUNDLE : PREBUILT_BUNDLE);

/** Use a prebuilt bundle only if it is newer than every compiled workflow file (never a stale one). */
function freshBundle(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const built = statSync(path).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.js') ? statSync(join(dir, e.name)).mtimeMs : 0)));
  return built >= newest(__dirname) ? path : undefined;
}

/** The prebuilt bundle when it is current, else the workflow sources (bundled at start). */
export function workflowSource(opts: { encrypted?: boolean } = {}): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const path = freshBundle(prebuiltBundlePath(!!opts.encrypted));
  return path ? { workflowBundle: { codePath: path } } : { workflowsPath: require.resolve('./workflows') };
}

const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The build ID recorded on every workflow task this worker completes: api7-ha's version and a digest of
 * the exact workflow code, so a history shows which build ran each step (see README: Safe upgrades).
 */
export function buildIdOf(source: ReturnType<typeof workflowSource>): string | undefined {
  if (!('workflowBundle' in source)) return undefined; // bundled at start: the SDK's default (bundle checksum)
  return `api7-ha@${VERSION}+${createHash('sha256').update(readFileSync(source.workflowBundle.codePath)).digest('hex').slice(0, 12)}`;
}

/** Replay (api7-ha replay, tests): the same workflow code and data converter as the worker. */
export function replayOptions(s?: Pick<TemporalSettings, 'codec'>): ReplayWorkerOptions {
  const dataConverter = workerDataConverter(s?.codec);
  return { ...workflowSource({ encrypted: !!s?.codec }), ...(dataConverter ? { dataConverter } : {}) };
}

export async function connectWorker(s: TemporalSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connectionOptions(s));
  } catch (e) {
    if (e instanceof SettingsError) throw e;
    throw unreachable(s, e);
  }
}

/** faultDrivers: modules that register host-fault drivers (the lab's: dist/lab/fault-driver.js); also API7_HA_FAULT_DRIVERS. */
export async function createWorker(s: TemporalSettings, opts: { pool?: SshPool; identity?: string; faultDrivers?: string[] } = {}) {
  const pool = opts.pool ?? new SshPool();
  // HTTP checks of hosts behind a jump host go through the same pooled jump connections as SSH.
  routeHttpThrough(pool);
  const faultDrivers = FaultDrivers.load([...driverModulesFromEnv(), ...(opts.faultDrivers ?? [])]);
  const connection = await connectWorker(s);
  // Drill probes ask their workflow when to stop, and lock refusals name the holder: a client, made once.
  let client: ReturnType<typeof createClient> | undefined;
  const getClient = () =>
    (client ??= createClient(s).catch((e: unknown) => {
      client = undefined; // a server restarting now is reachable on the next attempt
      throw e;
    }));
  const source = workflowSource({ encrypted: !!s.codec });
  const buildId = buildIdOf(source);
  const dataConverter = workerDataConverter(s.codec);
  const worker = await Worker.create({
    connection,
    namespace: s.namespace,
    taskQueue: s.taskQueue,
    ...source,
    ...(dataConverter ? { dataConverter } : {}),
    ...(buildId ? { buildId } : {}),
    activities: createActivities({ pool, faultDrivers, client: getClient }),
    // Give running activities time to notice cancellation and stop cleanly on SIGTERM.
    shutdownGraceTime: '10s',
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  return { worker, pool, connection, buildId };
}
