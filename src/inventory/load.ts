// Reading an inventory file: native api7-ha YAML or an Ansible YAML inventory (groups etcd,
// control_plane, data_plane, load_balancer), then one zod pipeline: field schema, rules, files, and
// the shape change into a ClusterSpec. Nothing here touches a remote host; every way a file can be
// wrong ends as an InventoryError (exit 2) naming the file or the field, never as a library's error.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { fromAnsible, looksLikeAnsible } from './ansible';
import { fileRules } from './files';
import { clusterSpecSchema, type Validated } from './normalize';
import { excerpt } from './patterns';
import { inventoryRules } from './rules';
import { InventoryError, type InventoryIssue } from './validate';

export { InventoryError, formatIssues, type InventoryIssue } from './validate';

/** An inventory is a few kilobytes; 100k-character values still fit. */
const MAX_BYTES = 4 << 20;
/** YAML aliases expanded at most this many times: a "billion laughs" document is refused, not expanded. */
const MAX_ALIASES = 1000;

const fileIssue = (message: string, fix: string): InventoryIssue => ({ path: '', message, fix });
const PASS_IT = 'pass the path of an inventory YAML file with -i (e.g. -i .lab/inventory.yaml after `npm run lab -- up`)';

export function loadInventory(path: string): Validated {
  const inventoryPath = resolve(path);
  return parseInventory(readInventoryText(inventoryPath), inventoryPath);
}

function readInventoryText(inventoryPath: string): string {
  const refuse = (message: string, fix: string) => new InventoryError([fileIssue(message, fix)]);
  let st;
  try {
    st = statSync(inventoryPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw refuse(`inventory file ${inventoryPath} does not exist`, PASS_IT);
    throw refuse(`cannot read inventory file ${inventoryPath} (${code ?? 'error'})`, 'check the path and its permissions');
  }
  if (st.isDirectory()) throw refuse(`${inventoryPath} is a folder, not an inventory file`, `${PASS_IT}; a lab's is ${inventoryPath}/inventory.yaml`);
  if (!st.isFile()) throw refuse(`${inventoryPath} is not a regular file`, PASS_IT);
  if (st.size > MAX_BYTES) throw refuse(`${inventoryPath} is ${st.size} bytes; an inventory is at most ${MAX_BYTES} bytes`, 'point -i at the inventory YAML file');
  try {
    return readFileSync(inventoryPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(`cannot read inventory file ${inventoryPath}${code === 'EACCES' ? ': permission denied' : ` (${code ?? 'error'})`}`, code === 'EACCES' ? 'run as a user who can read it, or make it readable (chmod o+r, or chown)' : 'check the file');
  }
}

/** The YAML as plain data, or every syntax problem at its line. */
function yamlData(text: string, inventoryPath: string): unknown {
  const refuse = (issues: InventoryIssue[]) => new InventoryError(issues, inventoryPath);
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    // The parser itself gave up (e.g. nesting thousands of levels deep).
    throw refuse([fileIssue(`the file cannot be read as YAML (${e instanceof Error ? e.name : 'error'})`, 'write the inventory as a YAML mapping (see README.md), without deep nesting')]);
  }
  if (doc.errors.length)
    throw refuse(doc.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? '?'}`, message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: 'correct the YAML syntax at that line' })));
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message))
      throw refuse([fileIssue(`the YAML's aliases (*name) expand more than ${MAX_ALIASES} times, as a "billion laughs" document does`, 'write the values out, or use fewer aliases of aliases')]);
    throw refuse([fileIssue(`the YAML cannot be turned into values (${e instanceof Error ? e.name : 'error'})`, 'write plain mappings, lists and values (see README.md)')]);
  }
}

/** Parse inventory text as if read from `inventoryPath` (relative paths resolve against its folder). */
export function parseInventory(text: string, inventoryPath: string, opts: { checkFiles?: boolean } = {}): Validated {
  let raw = yamlData(text, inventoryPath);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new InventoryError([{ path: '', message: 'the file is not a YAML mapping', fix: 'start from the example in README.md (cluster:, hosts:, packages:)' }], inventoryPath);
  if (looksLikeAnsible(raw)) raw = fromAnsible(raw as Record<string, unknown>, inventoryPath);

  const baseDir = dirname(inventoryPath);
  const resolvePath = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const stages = opts.checkFiles === false ? [inventoryRules] : [inventoryRules, fileRules(resolvePath)];
  const parsed = clusterSpecSchema({ inventoryPath, resolvePath }, stages).safeParse(raw);
  if (!parsed.success) throw new InventoryError(parsed.error.issues.map(zodIssueToInventoryIssue), inventoryPath);
  return parsed.data;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

function zodIssueToInventoryIssue(issue: z.core.$ZodIssue): InventoryIssue {
  const path = formatPath(issue.path);
  const fix = (issue as { params?: { fix?: unknown } }).params?.fix;
  // A check with its own fix; "{path}" in it is the field.
  if (typeof fix === 'string') return { path, message: issue.message, fix: fix.replaceAll('{path}', path) };
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        path,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.slice(0, 5).map((k) => excerpt(k)).join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}`,
        fix: 'remove it or correct its spelling (see the inventory reference in README.md)',
      };
    case 'too_big':
      if (issue.origin === 'string') return { path, message: issue.message, fix: `shorten ${path} to at most ${String(issue.maximum)} characters` };
      return defaultIssue(path, issue.message);
    case 'invalid_type': {
      // zod 4 carries no input on issues: "received undefined" is how a missing field reads.
      if (issue.message.endsWith('received undefined')) return { path, message: 'is required', fix: `add ${path || 'it'}` };
      const article = /^[aeiou]/.test(issue.expected) ? 'an' : 'a';
      return { path, message: issue.message.replace(/^Invalid input: /, ''), fix: `set ${path} to ${article} ${issue.expected}` };
    }
    default:
      return defaultIssue(path, issue.message);
  }
}

/** A message that says what a valid value is ("must be ...") gives its own fix. */
function defaultIssue(path: string, msg: string): InventoryIssue {
  const fix = msg.startsWith('must be') ? `set ${path} to ${msg.slice('must be '.length)}` : msg.startsWith('must') ? `change ${path}: it ${msg}` : `correct ${path}`;
  return { path, message: msg, fix };
}
