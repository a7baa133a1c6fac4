import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from './catalogue-types';

export type { Catalogue };

/**
 * The words the console shows for a reason code or a finding rule, read from the documentation tables that define
 * them (docs/verification.md "Reason codes", docs/findings.md "Rules") at build time and bundled: one text for the
 * docs and the page, never retyped. A unit spec checks that every code the service can emit has its row.
 */
/** The rows of the first Markdown table whose header row is exactly these columns, as cell texts. */
export function tableRows(markdown: string, header: readonly string[]): string[][] {
  const lines = markdown.split('\n');
  const wanted = `| ${header.join(' | ')} |`;
  const start = lines.findIndex((line) => line.trim() === wanted);
  if (start === -1) throw new Error(`no table with the columns ${header.join(', ')}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    // Cells hold no pipe of their own (the tables are written so); the outer pipes leave an empty first and last part.
    rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

const unquote = (cell: string) => cell.replace(/^`(.*)`$/, '$1');

export function catalogueOf(verificationMarkdown: string, findingsMarkdown: string): Catalogue {
  const reasons = Object.fromEntries(tableRows(verificationMarkdown, ['code', 'verdict', 'rule']).map(([code, verdict, rule]) => [unquote(code!), { verdict: verdict!, rule: rule! }]));
  const rules = Object.fromEntries(
    tableRows(findingsMarkdown, ['rule', 'severity', 'fires when', 'evidence', 'cannot judge']).map(([rule, severity, firesWhen]) => [unquote(rule!), { severity: severity!, firesWhen: firesWhen! }]),
  );
  return { reasons, rules };
}

/** The catalogue of this checkout's docs. */
export function readCatalogue(root: string): Catalogue {
  return catalogueOf(readFileSync(join(root, 'docs/verification.md'), 'utf8'), readFileSync(join(root, 'docs/findings.md'), 'utf8'));
}
