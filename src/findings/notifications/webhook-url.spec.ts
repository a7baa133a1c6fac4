import { webhookUrlProblem } from './webhook-url';

const strict = { allowHttp: false, allowPrivateAddresses: false };
const open = { allowHttp: true, allowPrivateAddresses: true };

describe('which URLs a subscription may name', () => {
  it('takes a public https URL', () => {
    expect(webhookUrlProblem('https://hooks.example.com/jartrail?team=sec', strict)).toBeUndefined();
    expect(webhookUrlProblem('https://93.184.215.14:8443/hook', strict)).toBeUndefined();
  });

  it.each([
    ['not a url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
    ['ftp://hooks.example.com/x', 'invalid_url'],
    ['https://user:secret@hooks.example.com/x', 'url_credentials'],
    ['http://hooks.example.com/x', 'https_required'],
    ['https://127.0.0.1/x', 'non_public_address'],
    ['https://localhost:8080/x', 'non_public_address'],
    ['https://10.1.2.3/x', 'non_public_address'],
    ['https://169.254.169.254/latest/meta-data', 'non_public_address'],
    ['https://[::1]/x', 'non_public_address'],
    ['https://[fd00::1]/x', 'non_public_address'],
    ['https://[::ffff:192.168.1.1]/x', 'non_public_address'],
  ])('refuses %s (%s) by default', (url, code) => {
    expect(webhookUrlProblem(url, strict)?.code).toBe(code);
  });

  it('allows plain http and private addresses only when configured, and credentials never', () => {
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', open)).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', { allowHttp: true, allowPrivateAddresses: false })?.code).toBe('non_public_address');
    expect(webhookUrlProblem('http://hooks.example.com/hook', { allowHttp: false, allowPrivateAddresses: true })?.code).toBe('https_required');
    expect(webhookUrlProblem('https://u:p@127.0.0.1/hook', open)?.code).toBe('url_credentials');
  });
});
