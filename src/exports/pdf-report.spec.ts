import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pdfPages } from '../../test/support/pdf-text';
import type { ReportAggregates, ReportChain } from './exports.repository';
import { dayBars, renderReport, safeText } from './pdf-report';

const DAY_MS = 86_400_000;

const aggregates = (days: number): ReportAggregates => ({
  records: days * 10,
  chains: 60,
  firstOccurredAt: '2026-01-01T00:00:00.000000Z',
  lastOccurredAt: new Date(Date.UTC(2026, 0, days)).toISOString(),
  bySource: Array.from({ length: 20 }, (_, index) => ({ label: `source-${index}`, count: 100 - index })),
  byType: [{ label: 'tool_call.recorded', count: days * 10 }],
  byClient: [{ label: '=cmd|"/c calc"!A1', count: 60 }],
  verdicts: [{ label: 'AS verdict: accepted', count: 5 }],
  perDay: Array.from({ length: days }, (_, index) => ({ label: new Date(Date.UTC(2026, 0, 1) + index * DAY_MS).toISOString().slice(0, 10), count: 10 + (index % 7) })),
  findings: [
    { rule: 'beyond_grant', severity: 'high', open: 40, resolved: 2 },
    { rule: 'orphan', severity: 'medium', open: 3, resolved: 0 },
  ],
  highSeverityChains: 60,
  purgedPayloads: 0,
});

async function* chains(count: number): AsyncGenerator<ReportChain> {
  for (let index = 0; index < count; index++) {
    yield {
      digest: `digest-${index}`.padEnd(43, 'x'),
      createdAt: '2026-01-02T00:00:00.000000Z',
      facets: { client_id: ['client\u0000\u202e-evil'], tool: ['<script>alert(1)</script>'] },
      records: 4,
      findings: [{ rule: 'beyond_grant', severity: 'high', status: 'open', summary: 'agent called mail.delete beyond the grant', first_seen_at: '2026-01-02T00:00:01.000000Z' }],
    };
  }
}

const checkpoint = { kind: 'checkpoint' as const, tree_size: 600, root_hash: 'r'.repeat(43), issued_at: '2026-03-01T00:00:00.000000Z', kid: 'ledger-key-1', jws: 'e'.repeat(300) };

async function render(days: number, chainCount: number): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of renderReport({
    exportId: '00000000-0000-4000-8000-000000000001',
    scope: { client_id: 'client-a', from: '2026-01-01T00:00:00Z' },
    aggregates: aggregates(days),
    chains: chains(chainCount),
    detailLimit: 50,
    checkpoint,
    signingKid: 'ledger-key-1',
    ledgerSeqs: [[0, 9], [20, 599]],
    generatedAt: new Date('2026-03-01T00:00:00Z'),
  })) {
    parts.push(part);
  }
  const path = join(tmpdir(), `jartrail-report-${days}-${chainCount}.pdf`);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

describe('the PDF report', () => {
  it('draws evidence as plain WinAnsi text: control and bidi characters become ?, long values are cut', () => {
    expect(safeText('a\u0000b\u202ec')).toBe('a?b?c');
    expect(safeText('x'.repeat(300), 10)).toHaveLength(10);
  });

  it('groups a long period into at most 62 bars, keeping every record', () => {
    const days = aggregates(400).perDay;
    const bars = dayBars(days);
    expect(bars.length).toBeLessThanOrEqual(62);
    expect(bars.reduce((sum, bar) => sum + bar.count, 0)).toBe(days.reduce((sum, day) => sum + day.count, 0));
  });

  it('bounds the detail section and says how many chains were left out; the text extracts', async () => {
    const text = (await pdfPages(await render(90, 50))).join('\n').replace(/\s+/g, ' ');
    expect(text).toContain('10 more chains with high-severity findings are not shown (50 of 60');
    expect(text).toContain('5 others');
    expect(text).toContain('=cmd|"/c calc"!A1');
    expect(text).toContain('client??-evil');
    expect(text).toContain('<script>alert(1)</script>');
    expect(text).toContain('checkpoint signing key ledger-key-1');
    expect(text).toContain('0-9, 20-599');
  });
});
