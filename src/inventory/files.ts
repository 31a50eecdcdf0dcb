// The rules that read the local disk: every file the run will read (packages, images, keys,
// known_hosts, secret files, certificates) exists, is a file and can be read, reported at the field
// that names it: a path set once under `ssh:` is reported there, not at the first host using it.
import { X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { rule, type Check, type Facts } from './rules';
import type { SecretRef } from './schema';

interface FileRef {
  field: string;
  file: string;
  fix: string;
}

function fileProblem(file: string): string | undefined {
  if (!existsSync(file)) return `file ${file} does not exist`;
  if (!statSync(file).isFile()) return `${file} is not a file`;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    return `${file} cannot be read by this user`;
  }
  return undefined;
}

const refOf = (field: string, file: string | undefined, fix: string): FileRef[] => (file === undefined ? [] : [{ field, file, fix }]);
const secretFile = (field: string, ref: SecretRef | undefined, what: string): FileRef[] =>
  ref && 'file' in ref ? refOf(`${field}.file`, ref.file, `create the file holding the ${what} (mode 600), or use { env: VARIABLE }`) : [];

/** Each value once, at the field it is written in (the first host's view of a shared setting). */
const once = <R extends { field: string }>(refs: R[]): R[] => refs.filter((r, k) => refs.findIndex((o) => o.field === r.field) === k);

export function fileRules(resolvePath: (p: string) => string): Check[] {
  const abs = (refs: FileRef[]) => refs.map((r) => ({ ...r, file: resolvePath(r.file) }));
  const files = (f: Facts): FileRef[] => {
    const { packages: p, etcd, control_plane: cp } = f.inv;
    return abs([
      ...refOf('packages.control_plane', p.control_plane, 'point it at the control plane package (e.g. api7-2.13.2304-cp.tar.gz)'),
      ...refOf('packages.data_plane', p.data_plane, 'point it at the data plane package (e.g. api7-2.13.2304-dp.tar.gz)'),
      ...refOf('packages.etcd_image.tarball', p.etcd_image.tarball, 'point it at a `docker save` tarball of the etcd image, or remove tarball to use an image already on the hosts'),
      ...refOf('packages.haproxy_image.tarball', p.haproxy_image?.tarball, 'point it at a `docker save` tarball of the HAProxy image'),
      ...once(
        f.hosts.flatMap((h) => [
          ...refOf(h.at('identity_file'), h.ssh.identity_file, 'point it at the private key for this host'),
          ...secretFile(h.at('sudo_password'), h.ssh.sudo_password, 'sudo password'),
          ...secretFile(h.at('passphrase'), h.ssh.passphrase, 'passphrase'),
        ]),
      ),
      ...(etcd.auth.enabled ? secretFile('etcd.auth.password', etcd.auth.password, 'etcd password') : []),
      ...secretFile('control_plane.auth_secret', cp.auth_secret, 'dashboard secret'),
      ...secretFile('control_plane.admin.password', cp.admin?.password, 'admin password'),
      ...(etcd.tls.enabled
        ? [
            ...refOf('etcd.tls.ca_file', etcd.tls.ca_file, 'point it at the CA certificate (PEM)'),
            ...refOf('etcd.tls.server_cert_file', etcd.tls.server_cert_file, 'point it at the member certificate (PEM)'),
            ...refOf('etcd.tls.server_key_file', etcd.tls.server_key_file, 'point it at the member key (PEM)'),
            ...refOf('etcd.tls.client_cert_file', etcd.tls.client_cert_file, 'point it at the client certificate (PEM)'),
            ...refOf('etcd.tls.client_key_file', etcd.tls.client_key_file, 'point it at the client key (PEM)'),
          ]
        : []),
    ]);
  };
  const knownHosts = (f: Facts) =>
    once(f.hosts.flatMap((h) => (h.ssh.known_hosts ? [{ field: h.at('known_hosts'), file: resolvePath(h.ssh.known_hosts), strict: (h.ssh.host_key_policy ?? 'strict') === 'strict' }] : [])));
  const clientCert = (f: Facts) => {
    const t = f.inv.etcd.tls;
    return f.inv.etcd.auth.enabled && t.enabled && t.client_cert_file && fileProblem(resolvePath(t.client_cert_file)) === undefined ? [certificateSubject(resolvePath(t.client_cert_file))] : [];
  };
  return [
    rule<FileRef>({ each: files, path: (r) => r.field, problem: (r) => fileProblem(r.file) !== undefined, message: (r) => fileProblem(r.file)!, fix: (r) => r.fix }),
    rule<{ field: string; file: string; strict: boolean }>({
      each: knownHosts,
      path: (k) => k.field,
      problem: (k) => (k.strict && !existsSync(k.file)) || (existsSync(k.file) && fileProblem(k.file) !== undefined),
      message: (k) => fileProblem(k.file)!,
      fix: "create it with the hosts' keys (ssh-keyscan, then verify them), or set ssh.host_key_policy: accept-new to record keys on first use",
    }),
    rule<{ field: string; file: string }>({
      each: knownHosts,
      path: (k) => k.field,
      problem: (k) => !existsSync(dirname(k.file)),
      message: (k) => `folder ${dirname(k.file)} does not exist`,
      fix: 'create the folder or point known_hosts elsewhere',
    }),
    // etcd's gRPC gateway, which APISIX and the dashboards talk to, refuses a client certificate
    // with a CommonName when auth is on ("CommonName of client sending a request against gateway
    // will be ignored"): catch it here, not as a 503 in the middle of a deploy.
    rule<string | undefined>({
      each: clientCert,
      path: 'etcd.tls.client_cert_file',
      problem: (subject) => subject === undefined || /(?:^|\n)CN=/.test(subject),
      message: (subject) => (subject === undefined ? 'is not a PEM certificate' : `the client certificate has a CommonName (${subject.replace(/\n/g, ', ')}), which etcd's gateway refuses when auth is on`),
      fix: (subject) => (subject === undefined ? 'point it at the client certificate (PEM)' : 'issue the client certificate without a CN (e.g. -subj /O=api7), or turn etcd auth off and rely on mTLS'),
    }),
  ];
}

function certificateSubject(file: string): string | undefined {
  try {
    return new X509Certificate(readFileSync(file)).subject;
  } catch {
    return undefined;
  }
}
