// Ansible YAML inventories (most ops teams have one): groups etcd, control_plane, data_plane and
// load_balancer give the roles; ansible_host/port/user/ssh_private_key_file/become give SSH; the
// api7-ha settings (cluster, packages, ...) sit in all.vars.api7_ha in the native inventory's shape.
import { InventoryError, type InventoryIssue } from './validate';

const ROLE_GROUPS = ['etcd', 'control_plane', 'data_plane', 'load_balancer'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function looksLikeAnsible(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  if (isObj(doc['all']) && ('children' in doc['all'] || 'hosts' in doc['all'])) return true;
  return ROLE_GROUPS.some((g) => isObj(doc[g]) && ('hosts' in (doc[g] as Obj) || 'children' in (doc[g] as Obj)));
}

interface HostEntry {
  vars: Obj;
  groups: Set<string>;
  order: number;
}

export function fromAnsible(doc: Obj, source: string): Obj {
  const issues: InventoryIssue[] = [];
  const hosts = new Map<string, HostEntry>();
  let order = 0;

  // Walk groups depth-first; variables cascade all -> parent group -> child group -> host.
  const walk = (groupName: string, group: unknown, inherited: Obj, lineage: string[]) => {
    if (group === null || group === undefined) return;
    if (!isObj(group)) {
      issues.push({ path: lineage.join('.'), message: 'is not a mapping', fix: 'write the group as { hosts: {...}, vars: {...}, children: {...} }' });
      return;
    }
    const vars = { ...inherited, ...(isObj(group['vars']) ? group['vars'] : {}) };
    const groupHosts = group['hosts'];
    if (isObj(groupHosts)) {
      for (const [name, hv] of Object.entries(groupHosts)) {
        const entry = hosts.get(name) ?? { vars: {}, groups: new Set<string>(), order: order++ };
        entry.vars = { ...vars, ...entry.vars, ...(isObj(hv) ? hv : {}) };
        entry.groups.add(groupName);
        for (const g of lineage) entry.groups.add(g);
        hosts.set(name, entry);
      }
    }
    const children = group['children'];
    if (isObj(children)) for (const [child, cg] of Object.entries(children)) walk(child, cg, vars, [...lineage, child]);
  };

  const all = isObj(doc['all']) ? doc['all'] : undefined;
  const allVars = all && isObj(all['vars']) ? all['vars'] : {};
  if (all) walk('all', all, {}, ['all']);
  for (const [name, group] of Object.entries(doc)) if (name !== 'all') walk(name, group, allVars, [name]);

  const settings = allVars['api7_ha'];
  if (!isObj(settings)) {
    issues.push({ path: 'all.vars.api7_ha', message: 'missing: the api7-ha settings (cluster, packages, ...)', fix: 'add all.vars.api7_ha with cluster:, packages: and the other native inventory sections' });
  }

  const outHosts: Obj[] = [];
  for (const [name, entry] of [...hosts.entries()].sort((a, b) => a[1].order - b[1].order)) {
    const roles = ROLE_GROUPS.filter((g) => entry.groups.has(g));
    if (roles.length === 0) continue; // hosts of other groups are not part of the estate
    const v = entry.vars;
    for (const secretVar of ['ansible_password', 'ansible_ssh_pass', 'ansible_become_password', 'ansible_become_pass']) {
      if (secretVar in v)
        issues.push({
          path: `hosts.${name}.${secretVar}`,
          message: 'an inline secret: api7-ha takes secrets by reference only, so they never reach logs or workflow history',
          fix: 'remove it and set api7_sudo_password_env: VARIABLE (or api7_sudo_password_file: /path) instead',
        });
    }
    const ssh: Obj = {};
    if (v['ansible_user'] !== undefined) ssh['user'] = v['ansible_user'];
    if (v['ansible_port'] !== undefined) ssh['port'] = Number(v['ansible_port']);
    if (v['ansible_ssh_private_key_file'] !== undefined) ssh['identity_file'] = v['ansible_ssh_private_key_file'];
    if (v['ansible_become'] !== undefined) ssh['sudo'] = v['ansible_become'] === true || v['ansible_become'] === 'true' || v['ansible_become'] === 'yes';
    if (typeof v['api7_sudo_password_env'] === 'string') ssh['sudo_password'] = { env: v['api7_sudo_password_env'] };
    if (typeof v['api7_sudo_password_file'] === 'string') ssh['sudo_password'] = { file: v['api7_sudo_password_file'] };
    const host: Obj = { name, address: v['ansible_host'] ?? name, roles };
    if (Object.keys(ssh).length) host['ssh'] = ssh;
    if (typeof v['api7_etcd_name'] === 'string') host['etcd_name'] = v['api7_etcd_name'];
    outHosts.push(host);
  }
  if (outHosts.length === 0)
    issues.push({ path: 'all.children', message: 'no host is in the groups etcd, control_plane, data_plane or load_balancer', fix: 'put the hosts in those groups' });

  if (issues.length) throw new InventoryError(issues, source);
  return { ...(settings as Obj), hosts: outHosts };
}
