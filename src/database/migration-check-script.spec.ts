import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The jest arguments of an npm script: what follows `jest` in its last `&&` step. */
function jestArguments(script: string): string[] {
  const step = script.split('&&').map((part) => part.trim()).find((part) => part.startsWith('jest '));
  if (!step) throw new Error(`no jest step in ${JSON.stringify(script)}`);
  return step.split(/\s+/).slice(1);
}

describe('npm run migration:check', () => {
  it('builds first, then runs the migration test file alone', () => {
    const script = scripts['migration:check']!;
    expect(script.startsWith('npm run build && ')).toBe(true);
    // --listTests prints what jest would run with these arguments, without running it.
    const listed = execFileSync(process.execPath, [require.resolve('jest/bin/jest'), ...jestArguments(script), '--listTests'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.endsWith('.ts'))
      .map((line) => relative(ROOT, line.trim()));
    expect(listed).toEqual(['test/database/migrations.spec.ts']);
  });
});
