// Small vendor-shaped packages and `docker save` tarballs, made at test time (nothing committed):
// api7-2.13.2304-cp.tar.gz = api7-2.13.2304-cp/{docker-compose.yaml, dashboard_conf/conf.yaml,
// images/<image>.tar.gz}, as the vendor ships them, with a few bytes instead of real images.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create } from 'tar';

/** A `docker save` tarball of one image: manifest.json naming its config by the config's sha256. */
export function writeImageTarball(file: string, tag: string, opts: { gzip?: boolean } = {}): string {
  const work = mkdtempSync(join(tmpdir(), 'api7ha-image-'));
  try {
    const config = JSON.stringify({ architecture: 'amd64', config: { Env: [] }, rootfs: { type: 'layers', diff_ids: [] } });
    const id = createHash('sha256').update(config).digest('hex');
    writeFileSync(join(work, `${id}.json`), config);
    writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: `${id}.json`, RepoTags: [tag], Layers: [] }]));
    mkdirSync(dirname(file), { recursive: true });
    create({ file, cwd: work, sync: true, gzip: opts.gzip ?? true, portable: true }, ['manifest.json', `${id}.json`]);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PackageShape {
  /** The top folder (the file is `<top>.tar.gz` unless `file` says otherwise). */
  top: string;
  configPath: string;
  /** Parts of the vendor layout to leave out. */
  omit?: ('compose' | 'config' | 'images')[];
  /** More files, relative to the top folder. */
  extra?: Record<string, string>;
  file?: string;
}

/** A vendor package in `dir`; returns its path. */
export function writeVendorPackage(dir: string, shape: PackageShape): string {
  const work = mkdtempSync(join(tmpdir(), 'api7ha-package-'));
  try {
    const put = (rel: string, content: string) => {
      mkdirSync(dirname(join(work, shape.top, rel)), { recursive: true });
      writeFileSync(join(work, shape.top, rel), content);
    };
    const omit = new Set(shape.omit ?? []);
    if (!omit.has('compose')) put('docker-compose.yaml', 'services:\n  app:\n    image: vendor/app:1\n');
    if (!omit.has('config')) put(shape.configPath, 'conf:\n  listen: { port: 9000 }\n');
    if (!omit.has('images')) writeImageTarball(join(work, shape.top, 'images', 'app-1.tar.gz'), 'vendor/app:1');
    for (const [rel, content] of Object.entries(shape.extra ?? {})) put(rel, content);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, shape.file ?? `${shape.top}.tar.gz`);
    create({ file, cwd: work, sync: true, gzip: true, portable: true }, [shape.top]);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The four files an API7 EE 2.13 inventory names, in `dir`. */
export function writeLabArtifacts(dir: string): { controlPlane: string; dataPlane: string; etcdImage: string; haproxyImage: string } {
  return {
    controlPlane: writeVendorPackage(dir, { top: 'api7-2.13.2304-cp', configPath: 'dashboard_conf/conf.yaml' }),
    dataPlane: writeVendorPackage(dir, { top: 'api7-2.13.2304-dp', configPath: 'gateway_conf/config.yaml' }),
    etcdImage: writeImageTarball(join(dir, 'etcd-3.4.13.tar.gz'), 'bitnami/etcd:3.4.13'),
    haproxyImage: writeImageTarball(join(dir, 'haproxy-2.6.tar.gz'), 'api7-ha/haproxy:2.6'),
  };
}
