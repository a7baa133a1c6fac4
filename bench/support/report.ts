import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from './service';

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

/** Writes `.bench/<name>-<time>.json` and `.bench/<name>-latest.json`; returns the first path. */
export async function writeResult(name: string, result: unknown): Promise<string> {
  const folder = join(REPOSITORY_ROOT, '.bench');
  await mkdir(folder, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(result, null, 2)}\n`;
  const path = join(folder, `${name}-${stamp}.json`);
  await writeFile(path, text);
  await writeFile(join(folder, `${name}-latest.json`), text);
  return path;
}

export function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new Error(`${name} must be a number, not ${value}`);
  return parsed;
}

/** A plain text table for the summary on stdout. */
export function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => String(row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'FAIL';
}

export function ratio(value: number, ceiling: number): number {
  return ceiling > 0 ? Math.round((value / ceiling) * 1000) / 1000 : 0;
}

export function logger(name: string): (message: string) => void {
  return (message) => process.stdout.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
