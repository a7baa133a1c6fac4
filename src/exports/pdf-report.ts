import PDFDocument from 'pdfkit';
import type { CheckpointDocument } from '../ledger/verification/documents';
import type { ExportScope } from './dto/export.dto';
import type { SeqRanges } from './export-manifest';
import type { CountRow, ReportAggregates, ReportChain } from './exports.repository';

/** Chains shown in detail at most; the report says how many more had high-severity findings. */
export const REPORT_DETAIL_CHAINS = 50;

/** Rows of a count table at most; the rest are summed in one line. */
const TOP_ROWS = 15;

/** Bars of the events-per-day chart at most: longer periods are grouped into runs of days. */
const MAX_DAY_BARS = 62;

export interface ReportInput {
  readonly exportId: string;
  readonly scope: ExportScope;
  readonly aggregates: ReportAggregates;
  /** The detail section's chains, worst first, streamed. */
  readonly chains: AsyncIterable<ReportChain>;
  readonly detailLimit: number;
  readonly checkpoint: CheckpointDocument;
  /** The ledger key that signs the manifest. */
  readonly signingKid: string;
  readonly ledgerSeqs: SeqRanges;
  /** Called after each detail chain (progress). */
  readonly onChain?: () => void;
  /** Fixed for tests; the time of writing otherwise. */
  readonly generatedAt?: Date;
}

/**
 * Evidence is attacker-controlled: it is only ever drawn as text (never a link, an annotation, an action or a
 * font), and the PDF's standard fonts draw WinAnsi only, so anything else (control characters, other scripts) becomes
 * `?`; long values are cut, so that no value can push the layout about.
 */
export function safeText(value: unknown, max = 200): string {
  const text = String(value ?? '')
    .replace(/[^\x20-\x7e\xa0-\xff]/g, '?')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const COLORS = { text: '#1a1a1a', muted: '#666666', rule: '#cccccc', bar: '#2f5d8a', high: '#b3261e', critical: '#7a0000', band: '#f3f5f8' };
const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low'];

type Doc = PDFKit.PDFDocument;

const left = (doc: Doc) => doc.page.margins.left;
const width = (doc: Doc) => doc.page.width - doc.page.margins.left - doc.page.margins.right;
const bottom = (doc: Doc) => doc.page.height - doc.page.margins.bottom;

/** A new page when fewer than `height` points are left. */
function ensure(doc: Doc, height: number): void {
  if (doc.y + height > bottom(doc)) doc.addPage();
}

/** A section heading, on a new page unless `following` points of what comes under it fit below it. */
function heading(doc: Doc, text: string, following = 60): void {
  ensure(doc, 30 + following);
  doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor(COLORS.text).text(text, left(doc), doc.y, { width: width(doc) });
  doc
    .moveTo(left(doc), doc.y + 2)
    .lineTo(left(doc) + width(doc), doc.y + 2)
    .lineWidth(0.5)
    .strokeColor(COLORS.rule)
    .stroke();
  doc.moveDown(0.5).font('Helvetica').fontSize(9);
}

/** A table: columns as fractions of the width; text cut to one line per cell. */
function table(doc: Doc, columns: readonly { title: string; share: number; align?: 'left' | 'right' }[], rows: readonly (readonly string[])[]): void {
  const x0 = left(doc);
  const total = width(doc);
  const rowHeight = 13;
  const drawRow = (cells: readonly string[], bold: boolean, band: boolean) => {
    ensure(doc, rowHeight + 2);
    const y = doc.y;
    if (band) doc.rect(x0, y - 2, total, rowHeight).fill(COLORS.band);
    let x = x0;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8.5).fillColor(COLORS.text);
    columns.forEach((column, index) => {
      const cellWidth = column.share * total;
      doc.text(cells[index] ?? '', x + 3, y, { width: cellWidth - 6, height: rowHeight, lineBreak: false, ellipsis: true, align: column.align ?? 'left' });
      x += cellWidth;
    });
    doc.y = y + rowHeight;
  };
  drawRow(
    columns.map((column) => column.title),
    true,
    false,
  );
  rows.forEach((row, index) => drawRow(row, false, index % 2 === 0));
  doc.x = x0;
  doc.moveDown(0.3);
}

/** A count table with its top rows, the rest summed as "N others". */
function countTable(doc: Doc, title: string, rows: readonly CountRow[], unit: string): void {
  const total = rows.reduce((sum, row) => sum + row.count, 0);
  const shown = rows.slice(0, TOP_ROWS).map((row) => [safeText(row.label, 120), row.count.toLocaleString('en-US'), percent(row.count, total)]);
  const rest = rows.slice(TOP_ROWS);
  if (rest.length > 0) shown.push([`${rest.length} others`, rest.reduce((sum, row) => sum + row.count, 0).toLocaleString('en-US'), percent(rest.reduce((sum, row) => sum + row.count, 0), total)]);
  if (shown.length === 0) shown.push(['(none)', '0', '']);
  table(
    doc,
    [
      { title, share: 0.64 },
      { title: unit, share: 0.18, align: 'right' },
      { title: 'share', share: 0.18, align: 'right' },
    ],
    shown,
  );
}

const percent = (count: number, total: number) => (total === 0 ? '' : `${((count * 100) / total).toFixed(1)} %`);

/** Groups days into at most MAX_DAY_BARS bars of equal runs of days. */
export function dayBars(perDay: readonly CountRow[]): CountRow[] {
  if (perDay.length <= MAX_DAY_BARS) return [...perDay];
  const run = Math.ceil(perDay.length / MAX_DAY_BARS);
  const bars: CountRow[] = [];
  for (let index = 0; index < perDay.length; index += run) {
    const group = perDay.slice(index, index + run);
    bars.push({ label: `${group[0]!.label}..${group.at(-1)!.label}`, count: group.reduce((sum, row) => sum + row.count, 0) });
  }
  return bars;
}

/** A vertical bar chart drawn with vector graphics: axis, bars, the maximum and the first and last labels. */
function columnChart(doc: Doc, title: string, bars: readonly CountRow[]): void {
  const height = 150;
  ensure(doc, height + 50);
  doc.font('Helvetica-Bold').fontSize(9.5).fillColor(COLORS.text).text(title, left(doc), doc.y);
  const top = doc.y + 14;
  const x0 = left(doc) + 40;
  const plotWidth = width(doc) - 45;
  const max = Math.max(1, ...bars.map((bar) => bar.count));
  doc.lineWidth(0.5).strokeColor(COLORS.rule);
  for (const fraction of [0, 0.5, 1]) {
    const y = top + height - fraction * height;
    doc.moveTo(x0, y).lineTo(x0 + plotWidth, y).stroke();
    doc.font('Helvetica').fontSize(7).fillColor(COLORS.muted).text(Math.round(max * fraction).toLocaleString('en-US'), left(doc), y - 3, { width: 36, align: 'right', lineBreak: false });
  }
  if (bars.length === 0) {
    doc.fontSize(8).fillColor(COLORS.muted).text('no records in the period', x0 + 10, top + height / 2, { lineBreak: false });
  } else {
    const slot = plotWidth / bars.length;
    // A few bars stay bars (at most 28 points wide), not blocks across the plot.
    const barWidth = Math.max(0.5, Math.min(28, slot * 0.7));
    bars.forEach((bar, index) => {
      const barHeight = (bar.count / max) * height;
      doc.rect(x0 + index * slot + (slot - barWidth) / 2, top + height - barHeight, barWidth, barHeight).fill(COLORS.bar);
      // Values over the bars only while they fit side by side.
      if (bars.length <= 16) {
        doc.font('Helvetica').fontSize(6.5).fillColor(COLORS.muted).text(bar.count.toLocaleString('en-US'), x0 + index * slot, top + height - barHeight - 9, { width: slot, align: 'center', lineBreak: false });
      }
    });
    doc.fontSize(7).fillColor(COLORS.muted);
    doc.text(safeText(bars[0]!.label, 40), x0, top + height + 4, { lineBreak: false });
    if (bars.length > 1) doc.text(safeText(bars.at(-1)!.label, 40), x0 + plotWidth - 120, top + height + 4, { width: 120, align: 'right', lineBreak: false });
  }
  doc.x = left(doc);
  doc.y = top + height + 20;
}

/** A horizontal bar chart: one bar per label, the count at its end. */
function barChart(doc: Doc, title: string, bars: readonly CountRow[]): void {
  const rowHeight = 14;
  ensure(doc, 30 + Math.min(bars.length, 4) * rowHeight);
  doc.font('Helvetica-Bold').fontSize(9.5).fillColor(COLORS.text).text(title, left(doc), doc.y);
  doc.moveDown(0.3);
  const labelWidth = 150;
  const x0 = left(doc) + labelWidth;
  const plotWidth = width(doc) - labelWidth - 50;
  const max = Math.max(1, ...bars.map((bar) => bar.count));
  if (bars.length === 0) doc.font('Helvetica').fontSize(8).fillColor(COLORS.muted).text('no findings', left(doc), doc.y);
  for (const bar of bars) {
    ensure(doc, rowHeight);
    const y = doc.y;
    doc.font('Helvetica').fontSize(8).fillColor(COLORS.text).text(safeText(bar.label, 40), left(doc), y + 2, { width: labelWidth - 6, lineBreak: false, ellipsis: true });
    const barWidth = Math.max(0.5, (bar.count / max) * plotWidth);
    doc.rect(x0, y + 1, barWidth, rowHeight - 4).fill(COLORS.bar);
    doc.fillColor(COLORS.text).text(bar.count.toLocaleString('en-US'), x0 + barWidth + 4, y + 2, { lineBreak: false });
    doc.x = left(doc);
    doc.y = y + rowHeight;
  }
  doc.moveDown(0.5);
}

function keyValues(doc: Doc, pairs: readonly (readonly [string, string])[]): void {
  for (const [key, value] of pairs) {
    ensure(doc, 14);
    const y = doc.y;
    doc.font('Helvetica-Bold').fontSize(8.5).fillColor(COLORS.text).text(key, left(doc), y, { width: 130 });
    doc.font('Helvetica').text(value, left(doc) + 135, y, { width: width(doc) - 135 });
    doc.x = left(doc);
    doc.y = Math.max(doc.y, y + 12);
  }
}

const describeRanges = (ranges: SeqRanges, max = 20) => {
  const shown = ranges.slice(0, max).map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`));
  return (shown.join(', ') || 'none') + (ranges.length > max ? `, and ${ranges.length - max} more runs (the manifest lists all)` : '');
};

function scopeLines(scope: ExportScope): [string, string][] {
  const entries = Object.entries(scope).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return [['scope', 'everything: no filter']];
  return entries.map(([key, value]) => [key, safeText(Array.isArray(value) ? value.join(', ') : value, 300)]);
}

async function detailSection(doc: Doc, input: ReportInput): Promise<void> {
  const { aggregates } = input;
  heading(doc, 'Chains with high-severity findings');
  const total = aggregates.highSeverityChains;
  let shown = 0;
  for await (const chain of input.chains) {
    shown += 1;
    ensure(doc, 80);
    const y = doc.y;
    doc.rect(left(doc), y, 3, 12).fill(chain.findings.some((finding) => finding.severity === 'critical') ? COLORS.critical : COLORS.high);
    doc.font('Helvetica-Bold').fontSize(9).fillColor(COLORS.text).text(`Chain ${chain.digest}`, left(doc) + 8, y + 1, { width: width(doc) - 8 });
    doc.x = left(doc);
    doc.y = y + 16;
    const facet = (name: string) => (chain.facets[name] ?? []).map((value) => safeText(value, 80)).join(', ') || '-';
    keyValues(doc, [
      ['first recorded', chain.createdAt],
      ['client / issuer', `${facet('client_id')} / ${facet('issuer')}`],
      ['subject', facet('subject')],
      ['tools', facet('tool')],
      ['records', String(chain.records)],
    ]);
    for (const finding of chain.findings) {
      ensure(doc, 24);
      doc
        .font('Helvetica-Bold')
        .fontSize(8.5)
        .fillColor(finding.severity === 'critical' ? COLORS.critical : COLORS.high)
        .text(`${safeText(finding.severity, 10).toUpperCase()}  ${safeText(finding.rule, 40)}  (${safeText(finding.status, 20)}, first seen ${safeText(finding.first_seen_at, 40)})`, left(doc) + 8, doc.y, {
          width: width(doc) - 8,
        });
      doc
        .font('Helvetica')
        .fillColor(COLORS.text)
        .text(safeText(finding.summary, 600), left(doc) + 8, doc.y, { width: width(doc) - 8 });
    }
    doc.x = left(doc);
    doc.moveDown(0.6);
    input.onChain?.();
  }
  if (shown === 0) doc.font('Helvetica').fontSize(9).fillColor(COLORS.muted).text('No chain in the scope has a high or critical finding.', left(doc), doc.y);
  else if (total > shown) {
    doc
      .font('Helvetica-Bold')
      .fontSize(9)
      .fillColor(COLORS.text)
      .text(`${total - shown} more chains with high-severity findings are not shown (${shown} of ${total}, critical and open first); an NDJSON export with finding_severity=high lists them all.`, left(doc), doc.y, { width: width(doc) });
  }
}

function integritySection(doc: Doc, input: ReportInput): void {
  const { checkpoint } = input;
  heading(doc, 'Integrity statement');
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor(COLORS.text)
    .text(
      'This report was cut at the signed ledger checkpoint below: it counts the ledger records of the scope whose seq is below the checkpoint\'s tree size. ' +
        'Every record is a leaf of that Merkle tree (RFC 9162), and the checkpoint is signed (JWS) with the ledger key. ' +
        'The SHA-256 of this file, the scope, the record count and the ledger seqs are in the export\'s manifest, signed with the same key: a file cannot carry its own hash, so keep the manifest beside it.',
      left(doc),
      doc.y,
      { width: width(doc) },
    );
  doc.moveDown(0.5);
  keyValues(doc, [
    ['export', input.exportId],
    ['checkpoint tree size', String(checkpoint.tree_size)],
    ['checkpoint root hash', checkpoint.root_hash],
    ['checkpoint issued at', checkpoint.issued_at],
    ['checkpoint signing key', checkpoint.kid],
    ['manifest signing key', input.signingKid],
    ['ledger seqs counted', describeRanges(input.ledgerSeqs)],
  ]);
  doc.moveDown(0.5);
  doc.font('Helvetica-Bold').fontSize(9).text('How to verify this file offline', left(doc), doc.y);
  doc.moveDown(0.2);
  doc
    .font('Courier')
    .fontSize(7.5)
    .text(
      [
        `ID=${input.exportId}`,
        'curl -H "Authorization: Bearer $KEY" -o report.pdf    $URL/v1/exports/$ID/download',
        'curl -H "Authorization: Bearer $KEY" -o manifest.json $URL/v1/exports/$ID/manifest',
        'npx jartrail verify report.pdf --manifest manifest.json --jwks pinned-jwks.json',
      ].join('\n'),
      left(doc),
      doc.y,
      { width: width(doc) },
    );
  doc.moveDown(0.4);
  doc
    .font('Helvetica')
    .fontSize(8.5)
    .text(
      '`jartrail verify` checks the manifest\'s signature and the checkpoint\'s against the JWKS you pinned (from /.well-known/jwks.json, through a channel you trust), and the file\'s size and SHA-256 against the manifest. ' +
        'For record-level proofs, export the same scope as NDJSON with proofs=true. The checkpoint\'s JWS, to check it alone:',
      left(doc),
      doc.y,
      { width: width(doc) },
    );
  doc.moveDown(0.2);
  doc.font('Courier').fontSize(6).fillColor(COLORS.muted).text(checkpoint.jws.match(/.{1,110}/g)!.join('\n'), left(doc), doc.y, { width: width(doc) });
}

/** Draws the whole report; the PDF's bytes stream out as it is drawn. */
async function draw(doc: Doc, input: ReportInput): Promise<void> {
  const { aggregates } = input;
  const generatedAt = input.generatedAt ?? new Date();
  doc.font('Helvetica-Bold').fontSize(18).fillColor(COLORS.text).text('jartrail compliance report', left(doc), doc.y);
  doc.font('Helvetica').fontSize(9).fillColor(COLORS.muted).text(`Export ${input.exportId}, generated ${generatedAt.toISOString()}`);
  heading(doc, 'Scope and period');
  keyValues(doc, [
    ...scopeLines(input.scope),
    ['period (occurred)', aggregates.firstOccurredAt ? `${aggregates.firstOccurredAt} to ${aggregates.lastOccurredAt}` : 'no records'],
    ['records', aggregates.records.toLocaleString('en-US')],
    ['chains', aggregates.chains.toLocaleString('en-US')],
    ['purged payloads', `${aggregates.purgedPayloads.toLocaleString('en-US')} (retention blanked their data; the envelope and the ledger leaf remain)`],
    ['cut at checkpoint', `tree size ${input.checkpoint.tree_size}, issued ${input.checkpoint.issued_at}`],
  ]);
  heading(doc, 'Counts');
  countTable(doc, 'source', aggregates.bySource, 'records');
  countTable(doc, 'event type', aggregates.byType, 'records');
  countTable(doc, 'client', aggregates.byClient, 'chains');
  countTable(doc, 'verdict', aggregates.verdicts, 'records');
  heading(doc, 'Findings by rule and severity');
  const findingRows = [...aggregates.findings]
    .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || a.rule.localeCompare(b.rule))
    .map((row) => [row.rule, row.severity, row.open.toLocaleString('en-US'), row.resolved.toLocaleString('en-US')]);
  if (findingRows.length === 0) findingRows.push(['(no findings)', '', '0', '0']);
  table(
    doc,
    [
      { title: 'rule', share: 0.46 },
      { title: 'severity', share: 0.18 },
      { title: 'open', share: 0.18, align: 'right' },
      { title: 'resolved', share: 0.18, align: 'right' },
    ],
    findingRows,
  );
  heading(doc, 'Charts', 220);
  columnChart(doc, 'Records per day (by when they happened, UTC)', dayBars(aggregates.perDay));
  const perRule = new Map<string, number>();
  for (const row of aggregates.findings) perRule.set(row.rule, (perRule.get(row.rule) ?? 0) + row.open + row.resolved);
  barChart(
    doc,
    'Findings per rule (open and resolved)',
    [...perRule].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label)),
  );
  await detailSection(doc, input);
  integritySection(doc, input);
}

/** The report as a stream of PDF bytes (pdfkit writes pages as they are drawn; the detail chains come from a cursor). */
export function renderReport(input: ReportInput): AsyncIterable<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 48,
    info: { Title: `jartrail compliance report ${input.exportId}`, Author: 'jartrail', Subject: 'compliance report', CreationDate: input.generatedAt ?? new Date() },
  });
  const drawn = draw(doc, input).then(
    () => doc.end(),
    (error: unknown) => doc.destroy(error as Error),
  );
  return (async function* () {
    try {
      for await (const chunk of doc as AsyncIterable<Buffer>) yield chunk;
    } finally {
      await drawn;
    }
  })();
}
