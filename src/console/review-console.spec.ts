import { contentSecurityPolicy } from './review-console';

describe("the review console's Content-Security-Policy", () => {
  it('allows only its own origin, and the origins of the identity providers it signs in with', () => {
    const policy = contentSecurityPolicy(['https://idp.example.com/oauth/token', 'https://idp.example.com/other', 'http://127.0.0.1:4000/token']);
    expect(policy).toContain("connect-src 'self' https://idp.example.com http://127.0.0.1:4000;");
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(contentSecurityPolicy()).toContain("connect-src 'self';");
  });

  it('never lets an endpoint from a discovery document add a directive', () => {
    const policy = contentSecurityPolicy(["https://idp.example.com; script-src 'unsafe-inline'", 'javascript:alert(1)', "https://a.example.com' *", 'data:text/html,x']);
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('javascript');
    expect(policy).not.toContain('data:');
    expect(policy.split('; ').filter((directive) => directive.startsWith('script-src'))).toEqual(["script-src 'self'"]);
  });
});
