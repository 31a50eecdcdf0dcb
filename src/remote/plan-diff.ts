// What a plan shows of a file it would change: a line diff (the `diff` package) in which every
// secret-bearing line is masked on both sides. The new side is the template, which holds
// __SECRET_name__ placeholders, never values. The host's side is masked by field, not by value: a
// line whose key carries a secret in the template, or is named like one (password, secret, token,
// key...), shows `***` unless it already equals the desired line; so a secret deployed on a drifted
// host (a rotation, an edit by hand) is never printed, whatever its value.
import { structuredPatch } from 'diff';
import { PLACEHOLDER } from './secrets';

/** key: value (YAML, list items too) or KEY=value (env files). */
const FIELD = /^(\s*(?:-\s+)?)([A-Za-z0-9_.-]+)(\s*[:=][ \t]*)(\S.*)?$/;
const SECRET_NAME = /(?:^|[_.-])(?:secret|password|passwd|pass|token|key|apikey|credentials?)$/i;

const keyOf = (line: string) => FIELD.exec(line)?.[2];

/**
 * The host's current file with its secret-bearing lines masked. `template` is the desired content
 * with placeholders, `desired` the same with the values substituted (line for line).
 */
export function maskByField(current: string, template: string, desired: string): string {
  const templateLines = template.split('\n');
  const desiredLines = desired.split('\n');
  const secretKeys = new Set(templateLines.filter((l) => new RegExp(PLACEHOLDER.source).test(l)).map(keyOf).filter((k): k is string => !!k));
  // A current line equal to a desired line is shown as the template shows it (placeholder included).
  const asTemplate = new Map<string, string>();
  desiredLines.forEach((l, i) => asTemplate.set(l, templateLines[i] ?? l));
  return current
    .split('\n')
    .map((line) => {
      const same = asTemplate.get(line);
      if (same !== undefined) return same;
      const m = FIELD.exec(line);
      if (m && (secretKeys.has(m[2]!) || SECRET_NAME.test(m[2]!)) && m[4] !== undefined) return `${m[1]}${m[2]}${m[3]}***`;
      return line;
    })
    .join('\n');
}

/** A line diff for plans: "-" removed, "+" added, two lines of context, "…" where lines are left out. */
export function lineDiff(before: string | undefined, after: string): string {
  const norm = (s: string) => `${s.replace(/\n$/, '')}\n`;
  const a = norm(after);
  if (before === undefined) return a.slice(0, -1).split('\n').map((l) => `+ ${l}`).join('\n');
  const b = norm(before);
  if (a === b) return '';
  const { hunks } = structuredPatch('current', 'desired', b, a, '', '', { context: 2 });
  const oldLines = b.split('\n').length - 1;
  const out: string[] = [];
  hunks.forEach((h, k) => {
    const previousEnd = k === 0 ? 1 : hunks[k - 1]!.oldStart + hunks[k - 1]!.oldLines;
    if (h.oldStart > previousEnd) out.push('  …');
    for (const l of h.lines) if (l[0] !== '\\') out.push(`${l[0] === ' ' ? ' ' : l[0]} ${l.slice(1)}`);
  });
  const last = hunks[hunks.length - 1];
  if (last && last.oldStart + last.oldLines - 1 < oldLines) out.push('  …');
  return out.join('\n');
}
