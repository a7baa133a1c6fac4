import { api, apiBlob, type Chain, type ExportJob, type Schemas } from './api';
import { docText, h, replace } from './dom';
import { problemView } from './problem-view';
import { hasScope } from './session';

export type ExportSource = { readonly kind: 'search'; readonly scope: Schemas['ExportScope'] } | { readonly kind: 'chain'; readonly chain: Chain };

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'expired']);

type ExportFormat = Schemas['CreateExportRequest']['format'];

/** Every format the API exports (tsc fails here when one is added or renamed), with its button and file extension. */
const FORMATS = {
  ndjson: { label: 'Records (NDJSON)', extension: 'ndjson' },
  'ndjson-chains': { label: 'Chains (NDJSON)', extension: 'ndjson' },
  csv: { label: 'Records (CSV)', extension: 'csv' },
  pdf: { label: 'Report (PDF)', extension: 'pdf' },
  ocsf: { label: 'OCSF for a SIEM (NDJSON)', extension: 'ndjson' },
} as const satisfies Record<ExportFormat, { label: string; extension: string }>;

/**
 * Export buttons: a report job over the search's scope (POST /v1/exports), its progress polled, then a download;
 * for a chain, its evidence bundle, which `jartrail verify` checks offline.
 */
export function exportPanel(source: ExportSource): HTMLElement {
  const status = h('div', { class: 'export-status', attrs: { 'aria-live': 'polite' } });
  const buttons =
    source.kind === 'search'
      ? (Object.keys(FORMATS) as ExportFormat[]).map((format) => h('button', { attrs: { type: 'button' }, on: { click: () => void startExport(status, source.scope, format) } }, FORMATS[format].label))
      : [h('button', { attrs: { type: 'button' }, on: { click: () => void downloadBundle(status, source.chain.digest) } }, 'Download the evidence bundle')];
  return h(
    'section',
    { class: 'panel exports', attrs: { 'aria-labelledby': `export-title-${source.kind}` } },
    h('h2', { id: `export-title-${source.kind}` }, 'Export'),
    h(
      'p',
      { class: 'muted' },
      docText(
        source.kind === 'search'
          ? 'A report of the records of the chains these filters select (the time range applies to when records happened), with a signed manifest. Needs the `audit:export` scope.'
          : 'Every record of this chain with its payload, salt and inclusion proof, the signed checkpoint and the ledger keys: `jartrail verify` checks it offline. Needs the `audit:export` scope.',
      ),
    ),
    hasScope('audit:export') ? h('div', { class: 'buttons' }, buttons) : h('p', null, 'Your credential does not carry audit:export.'),
    status,
  );
}

async function startExport(status: HTMLElement, scope: Schemas['ExportScope'], format: ExportFormat): Promise<void> {
  replace(status, h('p', null, 'Starting…'));
  let job: ExportJob;
  try {
    job = await api<ExportJob>('/v1/exports', { method: 'POST', body: { format, scope } });
    while (!FINISHED.has(job.status)) {
      showProgress(status, job);
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await api<ExportJob>(`/v1/exports/${encodeURIComponent(job.id)}`);
    }
  } catch (error) {
    replace(status, problemView(error));
    return;
  }
  if (job.status !== 'completed') {
    replace(status, h('p', { class: 'problem', attrs: { role: 'alert' } }, `The export ${job.status}${job.error ? `: ${job.error}` : ''}.`));
    return;
  }
  const id = job.id;
  replace(
    status,
    h('p', null, `Ready: ${job.progress.records_done} records, ${job.progress.bytes} bytes, SHA-256 ${job.sha256 ?? ''}.`),
    h('button', { class: 'download', attrs: { type: 'button' }, on: { click: () => void download(status, `/v1/exports/${encodeURIComponent(id)}/download`, `jartrail-export-${id}.${FORMATS[format].extension}`) } }, 'Download the file'),
    ' ',
    h('button', { attrs: { type: 'button' }, on: { click: () => void download(status, `/v1/exports/${encodeURIComponent(id)}/manifest`, `jartrail-export-${id}.manifest.json`) } }, 'Download the signed manifest'),
  );
}

function showProgress(status: HTMLElement, job: ExportJob): void {
  const { records_done: done, records_total: total, percent } = job.progress;
  replace(
    status,
    h('p', null, `${job.status}: ${done}${total === null ? '' : ` of ${total}`} records`),
    h('progress', { attrs: { max: 100, value: percent ?? undefined, 'aria-label': 'export progress' } }),
  );
}

/** The API wants the bearer header, which a plain link cannot send: the file is fetched, then saved from a blob. */
async function download(status: HTMLElement, path: string, name: string): Promise<void> {
  try {
    const blob = await apiBlob(path);
    saveBlob(blob, name);
  } catch (error) {
    status.append(problemView(error));
  }
}

async function downloadBundle(status: HTMLElement, digest: string): Promise<void> {
  replace(status, h('p', null, 'Preparing…'));
  await download(status, `/v1/chains/${encodeURIComponent(digest)}/evidence`, `jartrail-chain-${digest}.json`);
  if (!status.querySelector('.problem')) replace(status, h('p', null, 'Saved. Check it offline with ', h('code', null, 'jartrail verify FILE --jwks PINNED-JWKS.json'), '.'));
}

function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = h('a', { attrs: { href: url, download: name } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
