import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SECRET_PREFIX, secretKeyBytes, verifyWebhookSignature, type SignedDelivery } from './webhook-signature';

const TOLERANCE_SECONDS = 300;
// A fixed "now" with a fractional second, as a real clock has.
const NOW = new Date('2026-11-28T10:00:00.750Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

const bareSecret = randomBytes(32).toString('base64');
const secret = `${SECRET_PREFIX}${bareSecret}`;
const otherSecret = `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
const body = '{"type":"consent.decision","timestamp":"2026-11-28T10:00:00Z","data":{"subject":"Zoë"}}';

/** A delivery signed by the reference sender, the `standardwebhooks` library. */
function signed(options: { id?: string; at?: number; secrets?: readonly string[]; payload?: string } = {}): SignedDelivery {
  const id = options.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const at = options.at ?? NOW_SECONDS;
  const payload = options.payload ?? body;
  const signature = (options.secrets ?? [secret]).map((each) => new Webhook(each).sign(id, new Date(at * 1000), payload)).join(' ');
  return { id, timestamp: String(at), signature, body: Buffer.from(payload, 'utf8') };
}

const verify = (delivery: SignedDelivery, secrets: readonly string[] = [secret]) =>
  verifyWebhookSignature(delivery, secrets.map(secretKeyBytes), NOW, TOLERANCE_SECONDS);

describe('verifying a Standard Webhooks signature', () => {
  it('accepts a delivery signed by the reference sender', () => {
    expect(verify(signed())).toBeUndefined();
  });

  it('accepts a body with non-ASCII characters, signed over its UTF-8 bytes', () => {
    expect(body).toContain('ë');
    expect(verify(signed({ payload: body }))).toBeUndefined();
  });

  it('accepts a header with several signatures when one of them matches (sender rotating its secret)', () => {
    const delivery = signed({ secrets: [otherSecret, secret] });
    expect(delivery.signature!.split(' ')).toHaveLength(2);
    expect(verify(delivery)).toBeUndefined();
    expect(verify(signed({ secrets: [secret, otherSecret] }))).toBeUndefined();
  });

  it('accepts a delivery signed with any of the secrets the source holds (receiver rotating)', () => {
    expect(verify(signed({ secrets: [otherSecret] }), [secret, otherSecret])).toBeUndefined();
  });

  it('refuses a delivery signed with a secret the source does not hold', () => {
    expect(verify(signed({ secrets: [otherSecret] }))).toEqual({ reason: 'no_matching_signature' });
  });

  it('refuses every delivery when the source holds no secret', () => {
    expect(verify(signed(), [])).toEqual({ reason: 'no_matching_signature' });
  });

  it('derives the same key from a secret with and without the whsec_ prefix', () => {
    expect(secretKeyBytes(secret).equals(secretKeyBytes(bareSecret))).toBe(true);
    expect(secretKeyBytes(secret)).toHaveLength(32);
    // Sender with the prefix, receiver without, and the other way round.
    expect(verify(signed({ secrets: [secret] }), [bareSecret])).toBeUndefined();
    expect(verify(signed({ secrets: [bareSecret] }), [secret])).toBeUndefined();
  });

  describe('a tampered delivery', () => {
    it('is refused when one byte of the body changed', () => {
      const delivery = signed();
      expect(verify({ ...delivery, body: Buffer.from(body.replace('Zoë', 'Zoe'), 'utf8') })).toEqual({ reason: 'no_matching_signature' });
    });

    it('is refused when the body gained trailing whitespace', () => {
      const delivery = signed();
      expect(verify({ ...delivery, body: Buffer.from(`${body}\n`, 'utf8') })).toEqual({ reason: 'no_matching_signature' });
    });

    it('is refused when the id changed', () => {
      expect(verify({ ...signed(), id: 'msg_other' })).toEqual({ reason: 'no_matching_signature' });
    });

    it('is refused when the timestamp changed, even by one second within the tolerance', () => {
      expect(verify({ ...signed(), timestamp: String(NOW_SECONDS - 1) })).toEqual({ reason: 'no_matching_signature' });
    });

    it('is refused when a signature moves to another delivery (id and body swapped)', () => {
      const first = signed({ id: 'evt-1', payload: '{"a":1}' });
      const second = signed({ id: 'evt-2', payload: '{"a":2}' });
      expect(verify({ ...first, signature: second.signature })).toEqual({ reason: 'no_matching_signature' });
    });
  });

  describe('the timestamp tolerance', () => {
    it.each([
      ['exactly the tolerance in the past', -TOLERANCE_SECONDS],
      ['exactly the tolerance in the future', TOLERANCE_SECONDS],
      ['one second inside, past', -(TOLERANCE_SECONDS - 1)],
      ['one second inside, future', TOLERANCE_SECONDS - 1],
    ])('accepts a timestamp %s', (_name, offset) => {
      expect(verify(signed({ at: NOW_SECONDS + offset }))).toBeUndefined();
    });

    it('refuses a timestamp one second further in the past than the tolerance, with its skew', () => {
      expect(verify(signed({ at: NOW_SECONDS - TOLERANCE_SECONDS - 1 }))).toEqual({ reason: 'timestamp_out_of_tolerance', skewSeconds: TOLERANCE_SECONDS + 1 });
    });

    it('refuses a timestamp one second further in the future than the tolerance, with a negative skew', () => {
      expect(verify(signed({ at: NOW_SECONDS + TOLERANCE_SECONDS + 1 }))).toEqual({ reason: 'timestamp_out_of_tolerance', skewSeconds: -(TOLERANCE_SECONDS + 1) });
    });

    it('refuses an old capture on its timestamp before looking at the signature', () => {
      const old = signed({ at: NOW_SECONDS - 3600 });
      expect(verify({ ...old, signature: 'v1,AAAA' })).toMatchObject({ reason: 'timestamp_out_of_tolerance' });
    });

    it('agrees with the reference library on where the tolerance ends', () => {
      const webhook = new Webhook(secret);
      jest.useFakeTimers({ now: NOW });
      try {
        for (const offset of [-301, -300, 300, 301]) {
          const delivery = signed({ at: NOW_SECONDS + offset });
          const headers = { 'webhook-id': delivery.id!, 'webhook-timestamp': delivery.timestamp!, 'webhook-signature': delivery.signature! };
          let referenceAccepts = true;
          try {
            webhook.verify(body, headers);
          } catch {
            referenceAccepts = false;
          }
          expect({ offset, accepted: verify(delivery) === undefined }).toEqual({ offset, accepted: referenceAccepts });
        }
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('the headers', () => {
    it.each([
      ['webhook-id', 'id'],
      ['webhook-timestamp', 'timestamp'],
      ['webhook-signature', 'signature'],
    ] as const)('names %s when it is missing', (header, field) => {
      expect(verify({ ...signed(), [field]: undefined })).toEqual({ reason: 'missing_header', header });
    });

    it.each([
      ['webhook-id', 'id'],
      ['webhook-timestamp', 'timestamp'],
      ['webhook-signature', 'signature'],
    ] as const)('treats an empty %s as missing', (header, field) => {
      expect(verify({ ...signed(), [field]: '' })).toEqual({ reason: 'missing_header', header });
    });

    it.each([
      ['a dot, which would make the signed content ambiguous', 'evt.1'],
      ['a space', 'evt 1'],
      ['a control character', 'evt\n1'],
      ['a non-ASCII character', 'évt-1'],
      ['more than 256 characters', 'e'.repeat(257)],
    ])('refuses an id with %s as malformed', (_name, id) => {
      expect(verify(signed({ id }))).toEqual({ reason: 'malformed_id' });
    });

    it('accepts an id of 256 printable characters', () => {
      expect(verify(signed({ id: 'e'.repeat(256) }))).toBeUndefined();
    });

    it.each([
      ['fractional seconds', `${NOW_SECONDS}.5`],
      ['milliseconds beyond 12 digits', String(NOW.getTime() * 1000)],
      ['a sign', `+${NOW_SECONDS}`],
      ['a negative value', `-${NOW_SECONDS}`],
      ['exponent notation', '1.7e9'],
      ['an ISO date', NOW.toISOString()],
      ['surrounding whitespace', ` ${NOW_SECONDS}`],
    ])('refuses a timestamp with %s as malformed', (_name, timestamp) => {
      expect(verify({ ...signed(), timestamp })).toEqual({ reason: 'malformed_timestamp' });
    });
  });

  describe('the signature list', () => {
    it('ignores a v1a entry even when it carries the right HMAC', () => {
      const delivery = signed();
      const hmac = delivery.signature!.slice('v1,'.length);
      expect(verify({ ...delivery, signature: `v1a,${hmac}` })).toEqual({ reason: 'no_matching_signature' });
      expect(verify({ ...delivery, signature: `v1a,${hmac} ${delivery.signature}` })).toBeUndefined();
    });

    it('ignores an entry of an unknown version', () => {
      const delivery = signed();
      const hmac = delivery.signature!.slice('v1,'.length);
      expect(verify({ ...delivery, signature: `v2,${hmac}` })).toEqual({ reason: 'no_matching_signature' });
      expect(verify({ ...delivery, signature: `v2,${hmac} ${delivery.signature}` })).toBeUndefined();
    });

    it('ignores an entry without a version', () => {
      const delivery = signed();
      expect(verify({ ...delivery, signature: delivery.signature!.slice('v1,'.length) })).toEqual({ reason: 'no_matching_signature' });
    });

    it.each([
      ['too short', 'v1,AAAA'],
      ['empty', 'v1,'],
      ['too long', `v1,${randomBytes(64).toString('base64')}`],
      ['not base64', 'v1,!!!not*base64!!!'],
    ])('refuses a signature that is %s without throwing', (_name, signature) => {
      expect(() => verify({ ...signed(), signature })).not.toThrow();
      expect(verify({ ...signed(), signature })).toEqual({ reason: 'no_matching_signature' });
    });

    it('tolerates repeated spaces between entries', () => {
      const delivery = signed();
      expect(verify({ ...delivery, signature: `v1,AAAA  ${delivery.signature}` })).toBeUndefined();
    });
  });
});
