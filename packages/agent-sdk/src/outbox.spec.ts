import { mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from './events';
import { FileOutbox } from './outbox';

const anEnvelope = (id: string): Envelope => ({ id, type: 'token.revoked', timestamp: '2026-12-01T10:00:00.000Z', data: { jti: id, revoked_at: '2026-12-01T10:00:00.000Z' } });

describe('FileOutbox', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'outbox-spec-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('gives back after a reopen every appended event that was not acknowledged, in order, with its seq', async () => {
    const outbox = await FileOutbox.open(directory);
    await Promise.all([outbox.append([{ source: 'a', envelope: anEnvelope('e1') }]), outbox.append([{ source: 'b', envelope: anEnvelope('e2') }])]);
    await outbox.append([{ source: 'a', envelope: anEnvelope('e3') }]);
    await outbox.acknowledge(1);
    await outbox.close();

    const reopened = await FileOutbox.open(directory);
    expect(reopened.pending(10).map((entry) => [entry.seq, entry.source, entry.envelope.id])).toEqual([
      [2, 'b', 'e2'],
      [3, 'a', 'e3'],
    ]);
    await reopened.append([{ source: 'a', envelope: anEnvelope('e4') }]);
    expect(reopened.pending(10).at(-1)?.seq).toBe(4);
    await reopened.close();
  });

  it('drops a torn last line (an append that never returned) and keeps appending after the last whole one', async () => {
    const outbox = await FileOutbox.open(directory);
    await outbox.append([{ source: 'a', envelope: anEnvelope('e1') }]);
    await outbox.close();
    await appendFile(join(directory, 'journal.ndjson'), '{"seq":2,"source":"a","envel');

    const reopened = await FileOutbox.open(directory);
    expect(reopened.pending(10).map((entry) => entry.envelope.id)).toEqual(['e1']);
    await reopened.append([{ source: 'a', envelope: anEnvelope('e2') }]);
    await reopened.close();
    const lines = (await readFile(join(directory, 'journal.ndjson'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { envelope: Envelope }).envelope.id)).toEqual(['e1', 'e2']);
  });

  it('rewrites the journal to its waiting tail once acknowledged events pass the threshold', async () => {
    const outbox = await FileOutbox.open(directory, { compactAfterBytes: 500 });
    for (let index = 1; index <= 10; index += 1) await outbox.append([{ source: 'a', envelope: anEnvelope(`e${index}`) }]);
    await outbox.acknowledge(8);
    await outbox.append([{ source: 'a', envelope: anEnvelope('e11') }]);
    await outbox.close();
    const lines = (await readFile(join(directory, 'journal.ndjson'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([9, 10, 11]);
    const reopened = await FileOutbox.open(directory);
    expect(reopened.pending(10).map((entry) => entry.seq)).toEqual([9, 10, 11]);
    await reopened.close();
  });

  it('keeps events set aside in their own file, for an operator', async () => {
    const outbox = await FileOutbox.open(directory);
    await outbox.append([{ source: 'a', envelope: anEnvelope('e1') }]);
    const [entry] = outbox.pending(1);
    await outbox.setAside([{ ...entry!, status: 'rejected', problem: { title: 'bad' } }]);
    await outbox.acknowledge(entry!.seq);
    await outbox.close();
    expect(JSON.parse(await readFile(join(directory, 'set-aside.ndjson'), 'utf8'))).toMatchObject({ seq: 1, status: 'rejected', envelope: { id: 'e1' } });
  });
});
