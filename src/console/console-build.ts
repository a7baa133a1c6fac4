import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { readCatalogue } from './catalogue';
import { consoleAssetsDir, packageRoot } from './package-root';

/**
 * Bundles the review console (src/console/web) for the browser with esbuild: one ES module, one style sheet and
 * the page, into dist/console, which the service serves at /review. `npm run build` runs it (so `npm start` and
 * `npm test` on a fresh clone have it); the console's spec runs it too, so that it never tests a stale bundle.
 */
export const CONSOLE_FILES = ['index.html', 'console.js', 'console.css'] as const;

/** The shared ledger code hashes with sha256.ts (Node's crypto); the browser gets sha256.browser.ts instead. */
function browserSha256(root: string): Plugin {
  const nodeFile = join(root, 'src/common/crypto/sha256');
  return {
    name: 'browser-sha256',
    setup(esbuild) {
      esbuild.onResolve({ filter: /\/sha256$/ }, (args) => (resolve(args.resolveDir, args.path) === nodeFile ? { path: `${nodeFile}.browser.ts` } : undefined));
    },
  };
}

/** `import catalogue from 'jartrail:catalogue'`: the reason and rule texts of the docs, as JSON. */
function catalogueModule(root: string): Plugin {
  return {
    name: 'jartrail-catalogue',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^jartrail:catalogue$/ }, () => ({ path: 'catalogue', namespace: 'jartrail' }));
      esbuild.onLoad({ filter: /.*/, namespace: 'jartrail' }, () => ({ contents: JSON.stringify(readCatalogue(root)), loader: 'json' }));
    },
  };
}

export async function buildConsole(root: string = packageRoot(), outDir: string = consoleAssetsDir(root)): Promise<string> {
  const web = join(root, 'src/console/web');
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { console: join(web, 'main.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    // A Node built-in reaching the bundle fails the build: nothing the page runs may need one.
    platform: 'browser',
    target: ['chrome120', 'firefox121', 'safari17'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: [browserSha256(root), catalogueModule(root)],
    entryNames: '[name]',
  });
  copyFileSync(join(web, 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

if (require.main === module) {
  buildConsole().then(
    (outDir) => process.stdout.write(`review console built into ${outDir}\n`),
    (error: unknown) => {
      process.stderr.write(`review console: build failed: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
