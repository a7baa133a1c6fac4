import type { CliIo } from './cli-io';
import { Progress } from './progress';

function ioWith(terminalColumns: number | undefined) {
  const written: string[] = [];
  let now = 0;
  const io = {
    terminalColumns,
    err: (text: string) => void written.push(text),
    now: () => new Date(now),
  } as unknown as CliIo;
  return { io, written, advance: (ms: number) => (now += ms) };
}

describe('progress', () => {
  it('redraws one line in place on a terminal, with a bar, the counts, the percentage and the time left, and ends it with a newline', () => {
    const { io, written } = ioWith(100);
    const progress = new Progress(io);
    progress.show('export running', 250, 1000, 'records', 12.2);
    progress.show('downloading', 3 * 1024 * 1024, 4 * 1024 * 1024, 'bytes', null);
    progress.done();
    expect(written).toEqual([
      `\r${'export running [######------------------] 250 of 1000 records (25.0%), about 13 s left'.padEnd(99)}`,
      `\r${'downloading [##################------] 3.0 MiB of 4.0 MiB (75.0%)'.padEnd(99)}`,
      '\n',
    ]);
  });

  it('cuts the line to the terminal width', () => {
    const { io, written } = ioWith(30);
    new Progress(io).show('export running', 1, 2, 'records', null);
    expect(written[0]).toHaveLength(30);
  });

  it('writes plain lines without a terminal: on a new stage, each tenth done, or every five seconds', () => {
    const { io, written, advance } = ioWith(undefined);
    const progress = new Progress(io);
    progress.show('export queued', 0, null, 'records', null);
    progress.show('export queued', 0, null, 'records', null);
    advance(5000);
    progress.show('export queued', 0, null, 'records', null);
    progress.show('downloading', 100, 1000, 'bytes', null);
    progress.show('downloading', 150, 1000, 'bytes', null);
    progress.show('downloading', 1000, 1000, 'bytes', null);
    progress.done();
    expect(written).toEqual([
      'jartrail: export queued: 0 records\n',
      'jartrail: export queued: 0 records\n',
      'jartrail: downloading: 100 B of 1000 B (10.0%)\n',
      'jartrail: downloading: 1000 B of 1000 B (100.0%)\n',
    ]);
  });
});
