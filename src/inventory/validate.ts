// Inventory problems as the operator reads them: every one at its field, with its fix. The checks
// themselves are data: field patterns in schema.ts, rules in rules.ts and files.ts, the shape change
// in normalize.ts.
import { printable } from './patterns';
import type { InventoryIssue } from './rules';

export type { InventoryIssue } from './rules';
export type { NormalizeContext, Validated } from './normalize';

export class InventoryError extends Error {
  constructor(
    public readonly issues: InventoryIssue[],
    public readonly source?: string,
  ) {
    super(`${source ? `${printable(source)}: ` : ''}invalid inventory (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` + formatIssues(issues));
    this.name = 'InventoryError';
  }
}

/** One problem a line, its fix below; values from the file are printed with their control characters escaped. */
export function formatIssues(issues: InventoryIssue[]): string {
  return issues.map((i) => `  - ${printable(i.path) || '(top level)'}: ${printable(i.message)}\n    fix: ${printable(i.fix)}`).join('\n');
}
