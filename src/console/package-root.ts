import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of this package's package.json: the console's files sit at the same place relative to it whether the
 * code runs compiled (dist/src/console) or from source under jest (src/console).
 */
export function packageRoot(from: string = __dirname): string {
  let folder = from;
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${from}`);
    folder = parent;
  }
  return folder;
}

/** Where `npm run build` writes the console's bundle, and where the service serves it from. */
export const consoleAssetsDir = (root: string = packageRoot()) => join(root, 'dist', 'console');
