import type { CliIo } from './cli-io';

const BAR_WIDTH = 24;
/** Without a terminal, a line at most this often, or when the stage changes or another tenth is done. */
const PLAIN_INTERVAL_MS = 5000;

function amount(value: number, unit: 'records' | 'bytes'): string {
  if (unit === 'records') return `${value}`;
  if (value < 1024) return `${value} B`;
  if (value < 1024 ** 2) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 ** 2).toFixed(1)} MiB`;
}

/**
 * Progress on stderr (stdout carries the report): a bar redrawn in place on a terminal, plain lines otherwise (a log,
 * a pipe, CI). A few lines of our own rather than a progress-bar package: it writes through CliIo like everything
 * else the CLI prints, so that tests see it, and it needs nothing those packages add (multi-bars, themes).
 */
export class Progress {
  private drawn = false;
  private lastStage = '';
  private lastTenth = -1;
  private lastAt = 0;

  constructor(private readonly io: CliIo) {}

  show(stage: string, done: number, total: number | null, unit: 'records' | 'bytes', etaSeconds: number | null): void {
    const fraction = total === null ? null : total === 0 ? 1 : Math.min(1, done / total);
    const counts = total === null ? `${amount(done, unit)} ${unit}` : `${amount(done, unit)} of ${amount(total, unit)}${unit === 'records' ? ' records' : ''}`;
    const percent = fraction === null ? '' : ` (${(fraction * 100).toFixed(1)}%)`;
    const eta = etaSeconds !== null && etaSeconds > 0 ? `, about ${Math.ceil(etaSeconds)} s left` : '';
    const columns = this.io.terminalColumns;
    if (columns !== undefined) {
      const filled = fraction === null ? 0 : Math.round(fraction * BAR_WIDTH);
      const bar = fraction === null ? '' : `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] `;
      const line = `${stage} ${bar}${counts}${percent}${eta}`.slice(0, Math.max(10, columns - 1));
      this.io.err(`\r${line.padEnd(Math.max(10, columns - 1))}`);
      this.drawn = true;
      return;
    }
    const tenth = fraction === null ? -1 : Math.floor(fraction * 10);
    const now = this.io.now().getTime();
    if (stage === this.lastStage && tenth === this.lastTenth && now - this.lastAt < PLAIN_INTERVAL_MS) return;
    this.lastStage = stage;
    this.lastTenth = tenth;
    this.lastAt = now;
    this.io.err(`jartrail: ${stage}: ${counts}${percent}${eta}\n`);
  }

  /** Ends a bar drawn in place, so that what follows starts on a line of its own. */
  done(): void {
    if (this.drawn) this.io.err('\n');
    this.drawn = false;
  }
}
