import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '../../../test/support/process';

describe('the SDK event types and the OpenAPI contract', () => {
  it('every event the SDK can write is assignable to the schema docs/openapi.json gives it (tsc)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jartrail-sdk-contract-'));
    try {
      const config = join(dir, 'tsconfig.json');
      await writeFile(
        config,
        JSON.stringify({
          compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023', 'dom'], types: ['node'], typeRoots: [join(REPOSITORY_ROOT, 'node_modules', '@types')], skipLibCheck: true },
          files: [join(REPOSITORY_ROOT, 'packages', 'agent-sdk', 'test', 'contract.types.ts')],
        }),
      );
      const tsc = join(REPOSITORY_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await promisify(execFile)(process.execPath, [tsc, '-p', config], { cwd: REPOSITORY_ROOT }).then(
        () => '',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      );
      expect(result).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
