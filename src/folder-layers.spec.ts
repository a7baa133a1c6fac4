import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { preProcessFile } from 'typescript';

/**
 * The top-level folders of src/ in layers, lowest first: a folder may import from its own layer and the layers below.
 * An import from a lower layer up to a higher one is how folders end up importing each other both ways.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['config'],
  ['common', 'logging'],
  ['database'],
  ['access'],
  ['sources'],
  // The event record, its types and what each type knows: ingest, chains, findings and the ledger build on it.
  ['evidence'],
  ['ledger', 'request-objects'],
  ['findings'],
  ['chains'],
  ['ingest', 'keys', 'exports'],
  // The outermost: what serves, documents or calls the whole API (the OpenAPI document walks every controller).
  ['health', 'cli', 'openapi', 'client'],
  // The review console: the page (web/) reads the API's types and runs the ledger's verifier in the browser.
  ['console'],
];

/** Files that list every feature on purpose (composition roots): they import upward by design. */
const COMPOSITION_ROOTS = ['database/entities.ts'];

const SRC = __dirname;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const layerOf = (folder: string) => LAYERS.findIndex((layer) => layer.includes(folder));
const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : undefined);

function upwardImports(): string[] {
  return sourceFiles(SRC).flatMap((path) => {
    const file = relative(SRC, path);
    const from = folderOf(file);
    if (from === undefined || COMPOSITION_ROOTS.includes(file)) return [];
    return preProcessFile(readFileSync(path, 'utf8'), true, true)
      .importedFiles.map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .flatMap((specifier) => {
        const target = relative(SRC, join(dirname(path), specifier));
        const to = folderOf(target);
        return to !== undefined && to !== from && layerOf(to) > layerOf(from) ? [`${file} -> ${target}`] : [];
      });
  });
}

describe('the folders of src/', () => {
  it('each sit in a layer', () => {
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(folders.filter((folder) => layerOf(folder) === -1)).toEqual([]);
  });

  it('import only from their own layer and the layers below', () => {
    expect(upwardImports()).toEqual([]);
  });
});
