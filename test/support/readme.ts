// The README's load balancer snippets, as tests use them: what the README tells users to write is
// what the tests validate and run (so the two cannot drift apart).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';

/** The one fenced block of `lang` in the README. */
export function readmeSnippet(lang: 'haproxy' | 'nginx'): string {
  const text = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const blocks = [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```', 'g'))].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`README.md has ${blocks.length} \`\`\`${lang} blocks, expected 1`);
  return `${blocks[0]!}\n`;
}

/** The README example's addresses (dashboards 10.0.0.11-12, gateways 10.0.0.14-15) replaced by real ones. */
export function withAddresses(snippet: string, dashboards: [string, string], gateways: [string, string]): string {
  const map: Record<string, string> = { '10.0.0.11': dashboards[0], '10.0.0.12': dashboards[1], '10.0.0.14': gateways[0], '10.0.0.15': gateways[1] };
  return snippet.replace(/10\.0\.0\.1[1245]/g, (a) => map[a] ?? a);
}
