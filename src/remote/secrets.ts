// Secrets by reference: { env: NAME } or { file: PATH }, resolved here, on the worker, when an activity
// needs them. Values never enter workflow history, logs, plans or reports: files and stdin carry
// placeholders (__SECRET_name__) that are substituted at the last moment, and errors name the
// reference, never the value.
import { readFile } from 'node:fs/promises';
import type { SecretName, SecretRef } from '../inventory/model';

export class SecretError extends Error {
  override name = 'SecretError';
}

export const describeRef = (ref: SecretRef): string => ('env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`);

export async function resolveSecret(ref: SecretRef): Promise<string> {
  let value: string | undefined;
  if ('env' in ref) {
    value = process.env[ref.env];
    if (value === undefined) throw new SecretError(`the secret in ${describeRef(ref)} is not set on the worker; export it where the worker runs`);
  } else {
    try {
      value = (await readFile(ref.file, 'utf8')).replace(/\r?\n$/, '');
    } catch (e) {
      throw new SecretError(`cannot read the secret in ${describeRef(ref)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (value.length === 0) throw new SecretError(`the secret in ${describeRef(ref)} is empty`);
  return value;
}

export const PLACEHOLDER = /__SECRET_([a-z_]+)__/g;

export type SecretEncoding = 'yaml' | 'raw';

/**
 * Replace placeholders with values. "yaml" writes a JSON string, which is also a valid YAML
 * double-quoted scalar, so a secret with quotes, colons or "#" cannot break the file. "raw" (env files,
 * stdin) refuses values with a newline, which would start a new KEY=value line.
 */
export async function substituteSecrets(text: string, refs: Partial<Record<SecretName, SecretRef>>, encoding: SecretEncoding): Promise<string> {
  const names = [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as SecretName))];
  if (names.length === 0) return text;
  const values = new Map<string, string>();
  for (const name of names) {
    const ref = refs[name];
    if (!ref) throw new SecretError(`the secret ${name} is needed but the inventory does not reference it`);
    const v = await resolveSecret(ref);
    if (encoding === 'raw' && /[\r\n]/.test(v)) throw new SecretError(`the secret in ${describeRef(ref)} holds a line break, which this file cannot carry`);
    values.set(name, encoding === 'yaml' ? JSON.stringify(v) : v);
  }
  return text.replace(PLACEHOLDER, (_m, name: string) => values.get(name) ?? '');
}

/** The reverse, for diffs shown to people: known secret values are masked back into placeholders. */
export async function maskSecrets(text: string, refs: Partial<Record<SecretName, SecretRef>>): Promise<string> {
  let out = text;
  for (const [name, ref] of Object.entries(refs)) {
    if (!ref) continue;
    let v: string;
    try {
      v = await resolveSecret(ref);
    } catch {
      continue;
    }
    if (v.length < 4) continue; // too short to mask without mangling unrelated text
    out = out.split(JSON.stringify(v)).join(`__SECRET_${name}__`).split(v).join(`__SECRET_${name}__`);
  }
  return out;
}
