// Inventory test helpers: the lab fixture as a document to mutate, and what a refusal must look like.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { InventoryError, parseInventory, type InventoryIssue } from '../../src/inventory/load';
import type { Validated } from '../../src/inventory/validate';
import { repoRoot } from './paths';

export const ROOT = repoRoot();
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'inventory');
export const fx = (p: string) => path.join(FIXTURES, p);
export const LAB_YAML = fx('lab.yaml');
export const ANSIBLE_YAML = fx('ansible.yaml');

export type Doc = Record<string, unknown>;
const labDoc = parse(readFileSync(LAB_YAML, 'utf8')) as Doc;
export const freshLab = (): Doc => structuredClone(labDoc);
export const hostsOf = (d: Doc) => d['hosts'] as Doc[];
export const section = (d: Doc, key: string): Doc => {
  if (d[key] === undefined) d[key] = {};
  return d[key] as Doc;
};

/** Set a value at "a.b[2].c", creating missing objects on the way. */
export function setPath(doc: Doc, dotted: string, value: unknown): void {
  const keys = dotted.split('.').flatMap((seg) => {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(seg);
    if (!m) throw new Error(`bad path ${dotted}`);
    return [m[1] as string | number, ...[...(m[2] ?? '').matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]))];
  });
  let cur = doc as Record<string | number, unknown>;
  keys.slice(0, -1).forEach((k) => {
    if (cur[k] === undefined || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string | number, unknown>;
  });
  cur[keys[keys.length - 1]!] = value;
}

/** Parse a (mutated) lab inventory as if it sat in the fixtures folder, so relative paths resolve. */
export function parseLab(mutate: (d: Doc) => void = () => undefined, opts: { checkFiles?: boolean } = {}): Validated {
  const d = freshLab();
  mutate(d);
  return parseInventory(stringify(d), fx('case.yaml'), opts);
}

/** The issues of an inventory that must be refused. */
export function issuesOf(fn: () => unknown): InventoryIssue[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InventoryError, `expected an InventoryError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail('the inventory was accepted, but it should have been refused');
}

export function issueAt(issues: InventoryIssue[], at: string): InventoryIssue {
  const found = issues.find((i) => i.path === at);
  assert.ok(found, `no issue at "${at}"; got:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  return found;
}

/** Refused with an issue at `at` whose message and fix match. */
export function refusedAt(mutate: (d: Doc) => void, at: string, message: RegExp, fix: RegExp, opts: { checkFiles?: boolean } = {}): InventoryIssue {
  const issues = issuesOf(() => parseLab(mutate, opts));
  const issue = issueAt(issues, at);
  assert.match(issue.message, message);
  assert.match(issue.fix, fix);
  return issue;
}
