import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from './process';

const run = promisify(execFile);

/**
 * The text of each page of a PDF, extracted by pdfjs-dist (pure JavaScript, the engine of Firefox's PDF viewer) in a
 * process of its own: pdfjs-dist is an ES module, which jest's loader cannot require on Node 20.
 */
export async function pdfPages(file: string): Promise<string[]> {
  const script = `
    import { readFileSync } from 'node:fs';
    import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
    const document = await getDocument({ data: new Uint8Array(readFileSync(process.argv[1])), verbosity: 0 }).promise;
    const pages = [];
    for (let number = 1; number <= document.numPages; number++) {
      const content = await (await document.getPage(number)).getTextContent();
      pages.push(content.items.map((item) => item.str + (item.hasEOL ? '\\n' : ' ')).join(''));
    }
    process.stdout.write(JSON.stringify(pages));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, file], { cwd: REPOSITORY_ROOT, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as string[];
}
