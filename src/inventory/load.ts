// Reading an inventory file: native api7-ha YAML or an Ansible YAML inventory (groups etcd,
// control_plane, data_plane, load_balancer), schema validation, semantic validation, and checks that
// every local file it names exists. Nothing here touches a remote host.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { fromAnsible, looksLikeAnsible } from './ansible';
import type { ClusterSpec } from './model';
import { inventorySchema } from './schema';
import { InventoryError, validateAndNormalize, type InventoryIssue, type Validated } from './validate';

export { InventoryError, formatIssues, type InventoryIssue } from './validate';

export function loadInventory(path: string): Validated {
  const inventoryPath = resolve(path);
  if (!existsSync(inventoryPath))
    throw new InventoryError([{ path: '', message: `inventory file ${inventoryPath} does not exist`, fix: 'pass the path of an inventory YAML file with -i (e.g. -i .lab/inventory.yaml after `npm run lab -- up`)' }]);
  const text = readFileSync(inventoryPath, 'utf8');
  return parseInventory(text, inventoryPath);
}

/** Parse inventory text as if read from `inventoryPath` (relative paths resolve against its folder). */
export function parseInventory(text: string, inventoryPath: string, opts: { checkFiles?: boolean } = {}): Validated {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new InventoryError(
      doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: 'correct the YAML syntax at that line' })),
      inventoryPath,
    );
  }
  let raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new InventoryError([{ path: '', message: 'the file is not a YAML mapping', fix: 'start from the example in README.md (cluster:, hosts:, packages:)' }], inventoryPath);
  if (looksLikeAnsible(raw)) raw = fromAnsible(raw as Record<string, unknown>, inventoryPath);

  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) throw new InventoryError(parsed.error.issues.map(zodIssueToInventoryIssue), inventoryPath);

  const baseDir = dirname(inventoryPath);
  const resolvePath = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const validated = validateAndNormalize(parsed.data, { inventoryPath, resolvePath });
  if (opts.checkFiles !== false) {
    const missing = missingFiles(validated.spec);
    if (missing.length) throw new InventoryError(missing, inventoryPath);
  }
  return validated;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

function zodIssueToInventoryIssue(issue: z.core.$ZodIssue): InventoryIssue {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
        fix: 'remove it or correct its spelling (see the inventory reference in README.md)',
      };
    case 'invalid_type': {
      // zod 4 carries no input on issues: "received undefined" is how a missing field reads.
      if (/received undefined$/.test(issue.message)) return { path, message: 'is required', fix: `add ${path || 'it'}` };
      const article = /^[aeiou]/.test(issue.expected) ? 'an' : 'a';
      return { path, message: issue.message.replace(/^Invalid input: /, ''), fix: `set ${path} to ${article} ${issue.expected}` };
    }
    default: {
      const msg = issue.message;
      const fix = msg.startsWith('must be') ? `set ${path} to ${msg.slice('must be '.length)}` : msg.startsWith('must') ? `change ${path}: it ${msg}` : `correct ${path}`;
      return { path, message: msg, fix };
    }
  }
}

/** Local files the run reads: packages, images, keys, known_hosts, secret files, certificates. */
function missingFiles(spec: ClusterSpec): InventoryIssue[] {
  const issues: InventoryIssue[] = [];
  const need = (path: string | undefined, field: string, fix: string) => {
    if (path === undefined) return;
    if (!existsSync(path)) issues.push({ path: field, message: `file ${path} does not exist`, fix });
    else if (!statSync(path).isFile()) issues.push({ path: field, message: `${path} is not a file`, fix });
  };
  need(spec.packages.controlPlane, 'packages.control_plane', 'point it at the control plane package (e.g. api7-2.13.2304-cp.tar.gz)');
  need(spec.packages.dataPlane, 'packages.data_plane', 'point it at the data plane package (e.g. api7-2.13.2304-dp.tar.gz)');
  need(spec.packages.etcdImage.tarball, 'packages.etcd_image.tarball', 'point it at a `docker save` tarball of the etcd image, or remove tarball to use an image already on the hosts');
  need(spec.packages.haproxyImage?.tarball, 'packages.haproxy_image.tarball', 'point it at a `docker save` tarball of the HAProxy image');
  const seenKeys = new Set<string>();
  for (const h of spec.hosts) {
    const at = `hosts[${spec.hosts.indexOf(h)}].ssh`;
    if (h.ssh.identityFile && !seenKeys.has(h.ssh.identityFile)) {
      seenKeys.add(h.ssh.identityFile);
      need(h.ssh.identityFile, `${at}.identity_file`, 'point it at the private key for this host');
    }
    if (!existsSync(h.ssh.knownHosts) && h.ssh.hostKeyPolicy === 'strict' && !seenKeys.has(h.ssh.knownHosts)) {
      seenKeys.add(h.ssh.knownHosts);
      issues.push({ path: `${at}.known_hosts`, message: `file ${h.ssh.knownHosts} does not exist`, fix: 'create it with the hosts\' keys (ssh-keyscan, then verify them), or set ssh.host_key_policy: accept-new to record keys on first use' });
    }
    if (!existsSync(dirname(h.ssh.knownHosts)) && !seenKeys.has(`dir:${dirname(h.ssh.knownHosts)}`) && seenKeys.add(`dir:${dirname(h.ssh.knownHosts)}`))
      issues.push({ path: `${at}.known_hosts`, message: `folder ${dirname(h.ssh.knownHosts)} does not exist`, fix: 'create the folder or point known_hosts elsewhere' });
  }
  // Secret files, reported at the inventory field that names them.
  const secretFields: Record<string, string> = {
    etcd_password: 'etcd.auth.password.file',
    dashboard_secret: 'control_plane.auth_secret.file',
    admin_password: 'control_plane.admin.password.file',
  };
  for (const [name, ref] of Object.entries(spec.secrets)) {
    if (ref && 'file' in ref) need(ref.file, secretFields[name] ?? name, `create the file holding the ${name.replace('_', ' ')} (mode 600), or use { env: VARIABLE }`);
  }
  const seenSecretFiles = new Set<string>();
  spec.hosts.forEach((h, i) => {
    for (const [ref, field] of [
      [h.ssh.sudoPassword, 'sudo_password'],
      [h.ssh.passphrase, 'passphrase'],
    ] as const) {
      if (!ref || !('file' in ref) || seenSecretFiles.has(ref.file)) continue;
      seenSecretFiles.add(ref.file);
      need(ref.file, `hosts[${i}].ssh.${field}.file`, `create the file holding the ${field.replace('_', ' ')} (mode 600), or use { env: VARIABLE }`);
    }
  });
  const tls = spec.etcd.tls;
  if (tls.enabled) {
    need(tls.caFile, 'etcd.tls.ca_file', 'point it at the CA certificate (PEM)');
    need(tls.serverCertFile, 'etcd.tls.server_cert_file', 'point it at the member certificate (PEM)');
    need(tls.serverKeyFile, 'etcd.tls.server_key_file', 'point it at the member key (PEM)');
    need(tls.clientCertFile, 'etcd.tls.client_cert_file', 'point it at the client certificate (PEM)');
    need(tls.clientKeyFile, 'etcd.tls.client_key_file', 'point it at the client key (PEM)');
    // etcd's gRPC gateway, which APISIX and the dashboards talk to, refuses a client certificate
    // with a CommonName when auth is on ("CommonName of client sending a request against gateway
    // will be ignored"): catch it here, not as a 503 in the middle of a deploy.
    if (spec.etcd.auth.enabled && tls.clientCertFile && existsSync(tls.clientCertFile)) {
      try {
        const subject = new X509Certificate(readFileSync(tls.clientCertFile)).subject;
        if (/(^|\n)CN=/.test(subject))
          issues.push({
            path: 'etcd.tls.client_cert_file',
            message: `the client certificate has a CommonName (${subject.replace(/\n/g, ', ')}), which etcd's gateway refuses when auth is on`,
            fix: 'issue the client certificate without a CN (e.g. -subj /O=api7), or turn etcd auth off and rely on mTLS',
          });
      } catch {
        issues.push({ path: 'etcd.tls.client_cert_file', message: 'is not a PEM certificate', fix: 'point it at the client certificate (PEM)' });
      }
    }
  }
  return issues;
}
