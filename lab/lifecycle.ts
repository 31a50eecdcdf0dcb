/**
 * A lab's life: `up` (verify a healthy lab, repair powered-off or disconnected hosts, or build one from
 * nothing, cleaning up a stale one first), `down`, and `info`. One `up` or `down` at a time per lab
 * directory, across processes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toLabHost } from './access';
import { blueprint } from './blueprint';
import { bindSelf, ip, makePrivate } from './commands';
import { runOk } from './exec';
import { powerOnHost, reconnect } from './faults';
import { checkHostToHost, createHost, createLinks, startDaemons, startEcho, waitEcho, waitHostReady } from './hosts';
import { buildArtifacts } from './images/build';
import { ensureClientFiles, ensureClientKey, ensureSecrets, writeInventory, writeKnownHosts } from './keys';
import { realpathLoose } from './locations';
import { loadState, lockHolder, saveState, tryLock, unlock, updateLabState, type LabState } from './state';
import { assess } from './status';
import { ownerMark, teardownLab } from './teardown';
import { ensureComposePlugin, ensureFirewalldTree } from './tools';
import { chooseSubnet, hostsRootFor, labPrefix, normalizeShape, parseCidr, parseIpAddrNetworks, parseIpRouteNetworks, validateLabDir, type LabShape } from './topology';
import { LabUsageError, elapsed, type LabContext, type LabInfo, type UpReport } from './types';

const DOCKERD_STOP_MS = 12_000;

export async function up(ctx: LabContext, opts: Partial<LabShape> = {}): Promise<{ info: LabInfo; report: UpReport }> {
  let shape: LabShape;
  try {
    shape = normalizeShape(opts);
  } catch (e) {
    throw new LabUsageError((e as Error).message);
  }
  const gateways = shape.gateways;
  if (process.getuid?.() !== 0) throw new LabUsageError('the lab creates namespaces and mounts: run it as root');
  fs.mkdirSync(ctx.dir, { recursive: true });
  const realDir = fs.realpathSync(ctx.dir);
  try {
    validateLabDir(realDir);
  } catch (e) {
    throw new LabUsageError(`${(e as Error).message} (set API7HA_LAB_DIR or --dir)`);
  }
  return withOpLock(ctx.dir, 'up', async () => {
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    let previous: LabState | undefined;
    try {
      previous = loadState(ctx.dir);
    } catch (e) {
      ctx.log(`state: ${(e as Error).message}; treating the lab as stale`);
    }

    if (previous && previous.phase === 'ready') {
      const a = await assess(previous);
      if (a.kind !== 'stale' && previous.gateways !== gateways) {
        throw new LabUsageError(
          `the lab at ${ctx.dir} is running with --gateways ${previous.gateways}; ` +
            `run \`lab down\` first to rebuild it with --gateways ${gateways}, or run \`lab up --gateways ${previous.gateways}\``,
        );
      }
      const changed = shapeDifference(previous.shape, shape);
      if (a.kind !== 'stale' && changed) {
        throw new LabUsageError(`the lab at ${ctx.dir} is running with ${changed}; run \`lab down\` first to rebuild it in the new shape`);
      }
      if (a.kind === 'healthy') {
        await ensureArtifacts(ctx, previous);
        ensureClientFiles(previous);
        timings.verify = elapsed(t0);
        const report: UpReport = { action: 'verified', cleanedStale: false, repairedHosts: [], timingsMs: { ...timings, total: elapsed(t0) } };
        ctx.log(`lab is up and healthy (verified in ${timings.verify} ms)`);
        return { info: infoFrom(ctx.dir, previous), report };
      }
      if (a.kind === 'repairable') {
        ctx.log(`repairing: ${a.reasons.join('; ')}`);
        for (const h of a.restart) await powerOnHost(ctx, h, false);
        for (const h of a.reconnect) await reconnect(ctx, h);
        const s = loadState(ctx.dir)!;
        ensureClientFiles(s);
        const again = await assess(s);
        if (again.kind !== 'healthy') throw new Error(`lab is still unhealthy after repair: ${again.reasons.join('; ')}`);
        const report: UpReport = {
          action: 'repaired',
          cleanedStale: false,
          repairedHosts: [...new Set([...a.restart, ...a.reconnect])],
          timingsMs: { repair: elapsed(t0), total: elapsed(t0) },
        };
        return { info: infoFrom(ctx.dir, s), report };
      }
      ctx.log(`stale lab found: ${a.reasons.join('; ')}; cleaning up`);
    }

    const tClean = Date.now();
    const cleaned = await teardown(ctx, previous, realDir, true);
    timings.cleanup = elapsed(tClean);
    if (cleaned) ctx.log(`cleaned up a stale lab in ${timings.cleanup} ms`);

    let state: LabState;
    try {
      state = await create(ctx, shape, realDir, previous?.subnet, timings);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(
        `${msg}\n(the half-built lab is left for inspection: daemon logs in ${path.join(hostsRootFor(realDir, labPrefix(realDir)), '<host>', 'logs')}; ` +
          '`lab down` removes it and the next `lab up` rebuilds it)',
        { cause: e },
      );
    }
    const report: UpReport = { action: 'created', cleanedStale: cleaned, repairedHosts: [], timingsMs: { ...timings, total: elapsed(t0) } };
    return { info: infoFrom(ctx.dir, state), report };
  });
}

/** What differs between the running lab's shape and the asked one, as flags (undefined: nothing). */
function shapeDifference(was: LabShape | undefined, want: LabShape): string | undefined {
  if (!was) return undefined;
  const diff: string[] = [];
  if (was.compose !== want.compose) diff.push(`--compose ${was.compose}`);
  if (was.network !== want.network) diff.push(`--network ${was.network}`);
  if (was.bastion !== want.bastion) diff.push(was.bastion ? '--bastion' : 'no bastion');
  if (was.sshPort !== want.sshPort) diff.push(`--ssh-port ${was.sshPort}`);
  if (was.firewalld.join(',') !== want.firewalld.join(',')) diff.push(`--firewalld ${was.firewalld.join(',') || '(none)'}`);
  return diff.length ? diff.join(' ') : undefined;
}

/** Programs the shape needs that the machine's packages lack (cached; built or unpacked once). */
async function prepareTools(ctx: LabContext, shape: LabShape): Promise<LabState['tools']> {
  const [composePlugin, firewalldTree] = await Promise.all([
    shape.compose !== 'v1' ? ensureComposePlugin((l) => ctx.log(l)) : Promise.resolve(undefined),
    shape.firewalld.length ? ensureFirewalldTree(ctx.artifactsDir, (l) => ctx.log(l)) : Promise.resolve(undefined),
  ]);
  return { ...(composePlugin ? { composePlugin } : {}), ...(firewalldTree ? { firewalldTree } : {}) };
}

/** Build every host from nothing. */
async function create(ctx: LabContext, shape: LabShape, realDir: string, preferredSubnet: string | undefined, timings: Record<string, number>): Promise<LabState> {
  const t0 = Date.now();
  const prefix = labPrefix(realDir);
  const inUse = [
    ...parseIpAddrNetworks(await runOk(ip.addrList())),
    ...parseIpRouteNetworks(await runOk(ip.routeList())),
  ];
  const subnet = chooseSubnet(realDir, inUse, preferredSubnet);
  // The inner subnet has no address or route on the machine: it is chosen apart from every network
  // the machine knows and from the front subnet, so no address of the lab is ambiguous.
  const innerSubnet = shape.bastion ? chooseSubnet(`${realDir}#inner`, [...inUse, parseCidr(subnet)]) : undefined;
  const tools = await prepareTools(ctx, shape);
  const state = blueprint({ shape, realDir, prefix, subnet, ...(innerSubnet ? { innerSubnet } : {}), artifactsDir: ctx.artifactsDir, tools });
  ctx.log(`creating lab ${prefix} on ${subnet} with ${state.hosts.length} hosts in ${ctx.dir}`);

  fs.mkdirSync(path.join(ctx.dir, 'ssh'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(ctx.dir, 'secrets'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(state.runDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(state.runDir, 'owner'), `${realDir}\n`); // checked by teardown
  saveState(ctx.dir, state);

  // Artifacts build in parallel with the hosts (they are only needed for the echo and the inventory).
  const artifactsP = buildArtifacts(ctx.artifactsDir, (l) => ctx.log(`artifacts: ${l}`)).then(
    (a) => ({ ok: true as const, a }),
    (e: unknown) => ({ ok: false as const, e }),
  );

  await ensureClientKey(state);
  ensureSecrets(state);

  // Network: the bridge in the machine's namespace, .1 on it.
  await runOk(ip.bridgeAdd(state.bridge), { context: 'creating the lab bridge' });
  await runOk(ip.linkAlias(state.bridge, ownerMark(realDir)));
  await runOk(ip.addrAdd(state.bridge, `${state.bridgeAddress}/24`));
  await runOk(ip.linkUp(state.bridge));
  if (state.inner) {
    // No address on the machine's side: the machine has no route into it.
    await runOk(ip.bridgeAdd(state.inner.bridge), { context: 'creating the inner bridge' });
    await runOk(ip.linkAlias(state.inner.bridge, ownerMark(realDir)));
    await runOk(ip.linkUp(state.inner.bridge));
    fs.writeFileSync(path.join(state.runDir, 'inner-subnet'), `${state.inner.subnet}\n`); // for teardown without a state file
    await runOk(ip.routeUnreachable(state.inner.subnet), { context: 'making the inner subnet unreachable from the machine' });
  }

  // Namespace files live on a private mount of their own, so that binding them works even if the
  // machine's / is later made shared by someone else, and nothing propagates in or out.
  fs.mkdirSync(state.nsDir, { recursive: true });
  await runOk(bindSelf(state.nsDir));
  await runOk(makePrivate(state.nsDir));
  timings.network = elapsed(t0);

  const tHosts = Date.now();
  await createLinks(state);
  await Promise.all(state.hosts.map((h) => createHost(ctx.log, state, h)));
  timings.hosts = elapsed(tHosts);
  saveState(ctx.dir, state);

  const tStart = Date.now();
  await Promise.all(state.hosts.map((h) => startDaemons(h)));
  saveState(ctx.dir, state);
  await Promise.all(state.hosts.map((h) => waitHostReady(ctx.log, h)));
  timings.daemons = elapsed(tStart);

  const tNet = Date.now();
  await checkHostToHost(state);
  timings.hostToHost = elapsed(tNet);

  const tArt = Date.now();
  const art = await artifactsP;
  if (!art.ok) {
    throw new Error(`building the lab artifacts in ${ctx.artifactsDir} failed: ${art.e instanceof Error ? art.e.message : String(art.e)}`);
  }
  timings.artifactsWait = elapsed(tArt);
  state.artifacts = art.a;

  const up = state.hosts.find((h) => h.roles.includes('upstream'))!;
  startEcho(state, up);
  saveState(ctx.dir, state);
  await waitEcho(up);

  writeKnownHosts(state);
  writeInventory(state);
  state.phase = 'ready';
  saveState(ctx.dir, state);
  return state;
}

/**
 * The inventory points into the shared artifact cache; if someone cleaned the cache, rebuild it
 * (buildArtifacts is idempotent) and rewrite the inventory, instead of handing out dangling paths.
 */
async function ensureArtifacts(ctx: LabContext, s: LabState): Promise<void> {
  const a = s.artifacts;
  const files = a?.etcd35Image && a.hostNetworkPackages ? [a.etcdImage.tarball, a.etcd35Image.tarball, a.haproxyImage.tarball, ...Object.values(a.packages), ...Object.values(a.hostNetworkPackages), a.standinBinary] : [];
  if (a && files.every((f) => fs.existsSync(f))) return;
  ctx.log('the artifact cache changed; rebuilding it and rewriting the inventory');
  s.artifacts = await buildArtifacts(s.artifactsDir, (l) => ctx.log(`artifacts: ${l}`));
  updateLabState(ctx.dir, (x) => {
    x.artifacts = s.artifacts;
  });
  writeInventory(s);
}

export async function down(ctx: LabContext): Promise<void> {
  await withOpLock(ctx.dir, 'down', async () => {
    const t0 = Date.now();
    let state: LabState | undefined;
    try {
      state = loadState(ctx.dir);
    } catch (e) {
      ctx.log(`state: ${(e as Error).message}; cleaning up by prefix`);
    }
    const did = await teardown(ctx, state, state?.realDir ?? realpathLoose(ctx.dir), false);
    ctx.log(did ? `lab down in ${elapsed(t0)} ms` : 'no lab to take down');
  });
}

function teardown(ctx: LabContext, state: LabState | undefined, realDir: string, keepClientKey: boolean): Promise<boolean> {
  return teardownLab({
    labDir: ctx.dir,
    realDir,
    state,
    artifactsDir: state?.artifactsDir ?? ctx.artifactsDir,
    keepClientKey,
    dockerdStopMs: DOCKERD_STOP_MS,
    log: (l) => ctx.log(l),
  });
}

export function info(dir: string): LabInfo | undefined {
  let s: LabState | undefined;
  try {
    s = loadState(dir);
  } catch {
    return undefined;
  }
  return s && s.phase === 'ready' ? infoFrom(dir, s) : undefined;
}

function infoFrom(dir: string, s: LabState): LabInfo {
  const up = s.hosts.find((h) => h.roles.includes('upstream'));
  const bastion = s.hosts.find((h) => h.roles.includes('bastion'));
  if (!up || !s.artifacts) throw new Error(`the lab state in ${dir} is incomplete; run \`lab down\` and \`lab up\``);
  return {
    dir,
    prefix: s.prefix,
    subnet: s.subnet,
    bridge: s.bridge,
    hosts: s.hosts.filter((h) => h.inInventory).map((h) => toLabHost(h, s)),
    inventoryPath: s.files.inventory,
    sshKey: s.files.sshKey,
    knownHosts: s.files.knownHosts,
    upstream: toLabHost(up, s),
    ...(bastion ? { bastion: toLabHost(bastion, s) } : {}),
    shape: s.shape,
    artifacts: s.artifacts,
  };
}

/** One `up` or `down` at a time per lab directory (across processes). */
async function withOpLock<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lab.lock');
  if (!tryLock(file)) {
    throw new Error(`cannot ${what}: lab ${dir} is busy (process ${lockHolder(file) ?? '?'} holds ${file})`);
  }
  try {
    return await fn();
  } finally {
    unlock(file);
    // `down` of a lab dir that only held the lab (not the shared artifact cache): leave no dir.
    if (what === 'down') {
      try {
        fs.rmdirSync(dir);
      } catch {
        /* not empty (artifacts) or already gone */
      }
    }
  }
}
