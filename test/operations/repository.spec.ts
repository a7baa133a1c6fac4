import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '../support/process';

/** Every file a shell block of the README writes with `> file` or `cat > file`. */
async function filesTheWalkthroughWrites(): Promise<string[]> {
  const readme = await readFile(join(REPOSITORY_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const targets = blocks.flatMap((block) => [...block.matchAll(/(?<![0-9>&])>\s*([A-Za-z0-9._/-]+)/g)].map((match) => match[1]!));
  return [...new Set(targets.filter((target) => !target.startsWith('/dev/')))];
}

async function ignoredByGit(file: string): Promise<boolean> {
  try {
    await promisify(execFile)('git', ['check-ignore', '--quiet', '--no-index', file], { cwd: REPOSITORY_ROOT });
    return true;
  } catch {
    return false;
  }
}

describe('the repository', () => {
  it('ignores, in git and in the Docker build context, every file the README walkthrough writes (source secrets among them)', async () => {
    const written = await filesTheWalkthroughWrites();
    expect(written).toEqual(expect.arrayContaining(['as-1.json', 'tokens-1.json', 'agent-1.json', 'agent-app.json', 'proof.json']));
    const dockerignore = (await readFile(join(REPOSITORY_ROOT, '.dockerignore'), 'utf8')).split('\n');
    for (const file of written) {
      expect({ file, git: await ignoredByGit(file), docker: dockerignore.includes(`/${file}`) }).toEqual({ file, git: true, docker: true });
    }
  });

  it('does not ignore what belongs in it: the examples and the package files', async () => {
    for (const file of ['examples/client-jwks.json', 'examples/2-consent-decision.json', 'package.json', 'docs/openapi.json']) {
      expect({ file, ignored: await ignoredByGit(file) }).toEqual({ file, ignored: false });
    }
  });
});
