import { randomBytes } from 'node:crypto';
import { secretKeyBytes, verifyWebhookSignature } from '../ingest/webhook-signature';
import { Secret } from './secret';
import { isUsableSourceSecret, signDelivery } from './webhook-signer';

const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('signing a delivery', () => {
  it("produces headers that the service's own verification accepts", () => {
    const at = new Date('2026-11-28T10:00:00.750Z');
    const body = '{"type":"consent.decision","data":{"subject":"Zoë"}}';
    const headers = signDelivery(new Secret(secret), 'evt-1', body, at);
    expect(headers).toMatchObject({ 'webhook-id': 'evt-1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)) });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

    const delivery = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body: Buffer.from(body, 'utf8') };
    expect(verifyWebhookSignature(delivery, [secretKeyBytes(secret)], at, 300)).toBeUndefined();
    expect(verifyWebhookSignature({ ...delivery, body: Buffer.from(body.replace('Zoë', 'Zoe')) }, [secretKeyBytes(secret)], at, 300)).toEqual({ reason: 'no_matching_signature' });
  });

  it.each([
    [secret, true],
    [secret.slice('whsec_'.length), true],
    ['whsec_', false],
    ['whsec_abc def', false],
    ['my password', false],
  ])('knows whether %s can sign', (candidate, usable) => {
    expect(isUsableSourceSecret(candidate)).toBe(usable);
  });
});
