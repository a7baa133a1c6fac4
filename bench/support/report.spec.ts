import { execFileSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { median, medianOfRoundRatios, nonDefaultSettings, RATIO_METHOD, readSettings, writeResult } from './report';
import { REPOSITORY_ROOT } from './service';

describe('the ratio every bench reports', () => {
  it('is the median of the per-round ratios, not the ratio of the medians', () => {
    // Round 1 ran while the machine was quiet for the measured side only: its ratio is an outlier.
    const measured = [10, 1, 3];
    const reference = [5, 2, 6];
    const result = medianOfRoundRatios(measured, reference);
    expect(result.roundRatios).toEqual([2, 0.5, 0.5]);
    expect(result.ratio).toBe(0.5);
    expect(median(measured) / median(reference)).toBe(0.6);
    expect(result.method).toBe(RATIO_METHOD);
  });

  it('takes the mean of the two middle ratios of an even number of rounds', () => {
    expect(medianOfRoundRatios([1, 2, 3, 4], [2, 2, 2, 2]).ratio).toBe(1.25);
  });

  it('refuses sides with different numbers of rounds', () => {
    expect(() => medianOfRoundRatios([1, 2], [1])).toThrow(/same number of rounds/);
  });
});

describe('the settings a bench reports', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('names every setting that is not its default, with the default', () => {
    for (const name of Object.keys(process.env)) if (name.startsWith('BENCH_') || name === 'DATABASE_URL') delete process.env[name];
    process.env.BENCH_TEST_ROUNDS = '4';
    process.env.BENCH_KEEP_DATA_DIR = '/tmp/kept';
    const settings = readSettings({ rounds: ['BENCH_TEST_ROUNDS', 9], objects: ['BENCH_TEST_OBJECTS', 1000] });
    expect(settings.values).toEqual({ rounds: 4, objects: 1000 });
    expect(nonDefaultSettings(settings)).toEqual({ BENCH_TEST_ROUNDS: '4 (default 9)', BENCH_KEEP_DATA_DIR: '/tmp/kept' });
  });

  it('says so when an external PostgreSQL is used', () => {
    for (const name of Object.keys(process.env)) if (name.startsWith('BENCH_')) delete process.env[name];
    process.env.DATABASE_URL = 'postgres://bench@127.0.0.1/bench';
    expect(nonDefaultSettings(readSettings({}))).toEqual({ DATABASE_URL: expect.stringContaining('external') });
  });
});

describe('the raw result a bench writes', () => {
  it('goes to .bench/<bench>-<time>.json (committed, not ignored) with the machine, the ratio method and the settings', async () => {
    const settings = readSettings({ rounds: ['BENCH_TEST_WRITE_ROUNDS', 3] });
    const path = await writeResult('spec', settings, { results: [1] });
    try {
      expect(path).toMatch(/^\.bench\/spec-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
      const written = JSON.parse(await readFile(join(REPOSITORY_ROOT, path), 'utf8')) as Record<string, unknown>;
      expect(written).toMatchObject({ benchmark: 'spec', command: 'npm run bench:spec', ratioMethod: RATIO_METHOD, settings: { rounds: 3 }, results: [1] });
      expect(written.machine).toEqual(expect.objectContaining({ cores: expect.any(Number), cpuModel: expect.any(String), node: process.version }));
      // git check-ignore exits 1 when no rule ignores the path.
      expect(() => execFileSync('git', ['check-ignore', '-q', path], { cwd: REPOSITORY_ROOT })).toThrow();
    } finally {
      await rm(join(REPOSITORY_ROOT, path));
    }
  });
});
