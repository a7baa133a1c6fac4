import { chunksOf, contentEventId, envelopesOf, EnvelopeFileError } from './envelope-files';

const consent = (subject: string) => ({ type: 'consent.decision', timestamp: '2026-11-28T10:00:00Z', data: { digest: 'd', decision: 'approved', subject } });

const linesOf = (delivery: ReturnType<typeof envelopesOf>) => {
  if (delivery.kind !== 'batch') throw new Error('not a batch');
  return delivery.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
};

describe('reading envelope files', () => {
  it('sends a JSON object as one event, exactly as written, with its own id as the event id', () => {
    const text = `{\n  "id": "evt-1",\n  "type": "consent.decision",\n  "timestamp": "2026-11-28T10:00:00Z",\n  "data": {}\n}\n`;
    expect(envelopesOf('e.json', text)).toEqual({ kind: 'event', eventId: 'evt-1', body: text });
  });

  it('gives an event without id one derived from its content: the same envelope, however formatted, gets the same id', () => {
    const event = envelopesOf('e.json', JSON.stringify(consent('alice')));
    const reformatted = envelopesOf('e.json', JSON.stringify({ data: consent('alice').data, timestamp: consent('alice').timestamp, type: 'consent.decision' }, null, 4));
    const other = envelopesOf('e.json', JSON.stringify(consent('bob')));
    expect(event).toMatchObject({ kind: 'event', eventId: expect.stringMatching(/^evt_[A-Za-z0-9_-]{43}$/) });
    expect(reformatted.kind === 'event' && reformatted.eventId).toBe(event.kind === 'event' && event.eventId);
    expect(other.kind === 'event' && other.eventId).not.toBe(event.kind === 'event' && event.eventId);
  });

  it('drops a byte-order mark, which JSON does not allow', () => {
    expect(envelopesOf('e.json', `\uFEFF${JSON.stringify({ id: 'x', ...consent('a') })}`)).toMatchObject({ kind: 'event', eventId: 'x' });
  });

  it('sends a JSON array as a batch, each item with an id and the given ids kept', () => {
    const items = linesOf(envelopesOf('events.json', JSON.stringify([{ id: 'keep-me', ...consent('a') }, consent('b')])));
    expect(items).toEqual([
      { id: 'keep-me', ...consent('a') },
      { id: contentEventId(consent('b')), ...consent('b') },
    ]);
  });

  it('reads NDJSON by its name, one envelope per line, even a single one, with CRLF and blank lines', () => {
    const text = `${JSON.stringify(consent('a'))}\r\n\r\n${JSON.stringify({ id: 'e-2', ...consent('b') })}\r\n`;
    expect(linesOf(envelopesOf('events.ndjson', text)).map((item) => item.id)).toEqual([contentEventId(consent('a')), 'e-2']);
    expect(linesOf(envelopesOf('one.jsonl', JSON.stringify(consent('a'))))).toHaveLength(1);
  });

  it('reads NDJSON by its content when the name does not say, e.g. from stdin', () => {
    const text = [consent('a'), consent('b'), consent('c')].map((item) => JSON.stringify(item)).join('\n');
    expect(linesOf(envelopesOf('(stdin)', text))).toHaveLength(3);
  });

  it('passes an unreadable NDJSON line through as it is, so that the service rejects that item alone at its index', () => {
    const delivery = envelopesOf('events.ndjson', `${JSON.stringify(consent('a'))}\n{"type": oops\n`);
    expect(delivery.kind === 'batch' && delivery.lines[1]).toBe('{"type": oops');
  });

  it('leaves the judgement of odd batch items to the service', () => {
    const delivery = envelopesOf('events.json', '[42, {"id": 7, "type": "x"}]');
    expect(delivery.kind === 'batch' && delivery.lines).toEqual(['42', '{"id":7,"type":"x"}']);
  });

  it.each([
    ['broken.json', '{\n  "type": "consent.decision",\n  "data": {\n', /broken\.json: is not JSON/],
    ['empty.json', '  \n', /empty\.json: is empty/],
    ['empty.ndjson', '\n\n', /holds no envelopes/],
    ['none.json', '[]', /holds no envelopes/],
    ['scalar.json', '"hello"', /neither an envelope/],
    ['bad-id.json', '{"id": 5, "type": "consent.decision"}', /"id" must be a non-empty string/],
  ])('refuses %s before anything is sent', (name, text, message) => {
    expect(() => envelopesOf(name, text)).toThrow(EnvelopeFileError);
    expect(() => envelopesOf(name, text)).toThrow(message);
  });

  it('cuts a batch into requests of the given size, the last one shorter', () => {
    expect(chunksOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunksOf([1, 2], 1000)).toEqual([[1, 2]]);
  });
});
