import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { loadAverage, machineInfo } from './machine';
import { BASE_SETTINGS, REPOSITORY_ROOT, servicesStarted, serviceSettingsUsed } from './service';

/** The commit measured, and whether the work tree had changes on top of it (read-only git commands). */
export function sourceRevision(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPOSITORY_ROOT, encoding: 'utf8' }).trim();
    return { commit, dirty: status !== '' };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** Where every bench writes its raw result: committed with the figures of docs/PERFORMANCE.md that it backs. */
export const RESULTS_FOLDER = join(REPOSITORY_ROOT, '.bench');

/**
 * Writes `.bench/<name>-<UTC time>.json`: the result with, first, what every result must say (the bench, the
 * command, the time, the commit, the machine, the load, the ratio method, and every setting that was not the
 * default). Returns the path relative to the repository root.
 */
export async function writeResult(name: string, settings: BenchSettings, result: Record<string, unknown>): Promise<string> {
  await mkdir(RESULTS_FOLDER, { recursive: true });
  const at = new Date();
  const report = {
    benchmark: name,
    command: `npm run bench:${name}`,
    at: at.toISOString(),
    revision: sourceRevision(),
    machine: machineInfo(),
    loadAverageAtEnd: loadAverage(),
    ratioMethod: RATIO_METHOD,
    settings: settings.values,
    nonDefaultSettings: nonDefaultSettings(settings),
    ...result,
  };
  const path = join(RESULTS_FOLDER, `${name}-${at.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return relative(REPOSITORY_ROOT, path);
}

export function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`${name} must be a number, not ${value}`);
  return parsed;
}

/** A bench's numeric settings, each read from its environment variable, with the default it falls back to. */
export interface BenchSettings<Name extends string = string> {
  readonly values: Readonly<Record<Name, number>>;
  readonly sources: Readonly<Record<Name, { readonly env: string; readonly default: number }>>;
}

export function readSettings<Name extends string>(spec: Readonly<Record<Name, readonly [env: string, fallback: number]>>): BenchSettings<Name> {
  const entries = Object.entries(spec) as [Name, readonly [string, number]][];
  return {
    values: Object.fromEntries(entries.map(([name, [env, fallback]]) => [name, envNumber(env, fallback)])) as Record<Name, number>,
    sources: Object.fromEntries(entries.map(([name, [env, fallback]]) => [name, { env, default: fallback }])) as Record<Name, { env: string; default: number }>,
  };
}

/**
 * Every setting of the run that is not the default: the bench's own (BENCH_*: numbers with their default, and any
 * other BENCH_ variable that is set), the service's environment the bench set (e.g. LEDGER_ENABLED=false for a
 * mode), and DATABASE_URL when set. Empty: the defaults throughout.
 */
export function nonDefaultSettings(settings: BenchSettings): Record<string, string> {
  const changed: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.values)) {
    const source = settings.sources[name]!;
    if (value !== source.default) changed[source.env] = `${value} (default ${source.default})`;
  }
  // Switches and folders (BENCH_KEEP_DATA_DIR, BENCH_PG_STAT_STATEMENTS, BENCH_SKIP_PROOFS, ...): any other BENCH_ variable set.
  const numeric = new Set(Object.values(settings.sources).map((source) => source.env));
  for (const [env, value] of Object.entries(process.env)) {
    if (env.startsWith('BENCH_') && !numeric.has(env) && value !== undefined && value !== '') changed[env] = value;
  }
  if (process.env.DATABASE_URL) changed.DATABASE_URL = 'set (an external PostgreSQL, not the embedded one)';
  const used = serviceSettingsUsed();
  for (const [env, values] of Object.entries(used)) changed[`service ${env}`] = values.join(', ');
  if (Object.keys(used).length > 0 || servicesStarted()) {
    for (const [env, value] of Object.entries(BASE_SETTINGS)) changed[`service ${env}`] ??= `${value} (every run: the bench reads only warnings)`;
  }
  return changed;
}

/** One line for the log: the non-default settings, or that there are none. */
export function describeSettings(settings: BenchSettings): string {
  const changed = Object.entries(nonDefaultSettings(settings));
  return changed.length === 0 ? 'all settings at their defaults' : `NOT the defaults: ${changed.map(([name, value]) => `${name}=${value}`).join('; ')}`;
}

/**
 * The one way every bench turns two measured sides into a ratio. A round measures both sides back to back (in
 * alternating order from round to round), so load that comes and goes on a shared machine hits both sides of a
 * round alike; the ratio of each round is taken, and the result is the median of those ratios. Never a ratio of
 * medians, and never a ratio of two separate runs.
 */
export const RATIO_METHOD =
  'median of per-round ratios: each round measures both sides back to back, alternating which goes first; ratio = this side / reference side within a round; the result is the median of the rounds\' ratios';

export interface RoundRatios {
  /** The median of the per-round ratios. */
  readonly ratio: number;
  /** Each round's ratio, in round order. */
  readonly roundRatios: readonly number[];
  readonly method: typeof RATIO_METHOD;
}

/** `measured[i] / reference[i]` per round, and their median (see RATIO_METHOD). */
export function medianOfRoundRatios(measured: readonly number[], reference: readonly number[]): RoundRatios {
  if (measured.length !== reference.length || measured.length === 0) {
    throw new Error(`a ratio needs the same number of rounds on both sides (${measured.length} and ${reference.length}), at least one`);
  }
  const roundRatios = measured.map((value, round) => ratio(value, reference[round]!));
  return { ratio: Math.round(median(roundRatios) * 1000) / 1000, roundRatios, method: RATIO_METHOD };
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('the median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The order of a round's two sides: alternating, so that neither side always runs first. */
export function referenceFirst(round: number): boolean {
  return round % 2 === 0;
}

/** A plain text table for the summary on stdout. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

/** One round's ratio, to three decimals (0 when the reference measured nothing). */
export function ratio(value: number, reference: number): number {
  return reference > 0 ? Math.round((value / reference) * 1000) / 1000 : 0;
}

export function logger(name: string): (message: string) => void {
  return (message) => process.stdout.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
