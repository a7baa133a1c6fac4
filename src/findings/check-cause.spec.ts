import { resolutionReasonOf } from './check-cause';
import { aChain, aConsent, aToolCall, aVerification, OTHER_DIGEST } from './evidence.fixtures';

describe('the reason a resolved finding is given: what queued the evaluation that ended it', () => {
  const verification = aVerification({}, { eventId: 'evt-verification' });
  const consent = aConsent({}, { eventId: 'evt-consent' });
  const elsewhere = aVerification({}, { eventId: 'evt-elsewhere', chains: [OTHER_DIGEST] });
  const chain = aChain([verification, consent], { related: [elsewhere] });

  it('names the records that arrived by type and event id, saying when one belongs to another chain', () => {
    expect(resolutionReasonOf([{ kind: 'records', seqs: [consent.seq, elsewhere.seq], count: 4 }], chain)).toBe(
      'no longer holds once consent.decision "evt-consent", request_object.verification "evt-elsewhere" (of another chain, sharing a key with this one) and 2 more record(s) arrived: the rules re-evaluated over the 2 records the subject has now no longer find it',
    );
  });

  it('names a verdict and a client registration, each once however often it queued the subject', () => {
    const client = { kind: 'client', client_id: 'agent-client' } as const;
    expect(resolutionReasonOf([client, client, { kind: 'verdict', seq: verification.seq }], chain)).toBe(
      'no longer holds once the registration of client "agent-client" was made or changed; jartrail\'s own verdict on request_object.verification "evt-verification" was recorded: the rules re-evaluated over the 2 records the subject has now no longer find it',
    );
  });

  it('keeps the general reason for checks queued before causes were kept, and the loose record’s own', () => {
    expect(resolutionReasonOf([null], chain)).toBe('no longer holds: the rules re-evaluated over the 2 records the subject has now no longer find it');
    expect(resolutionReasonOf([{ kind: 'records', seqs: [aToolCall().seq], count: 1 }], aChain([], { digest: null }))).toBe('no longer holds: the record has joined a chain');
  });
});
