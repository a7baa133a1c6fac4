import { afterFailure, retryDelayMs } from './retry-schedule';

const policy = { baseMs: 1000, capMs: 60_000, maxAttempts: 5, maxAgeMs: 3_600_000 };

describe('the retry schedule of a failing delivery', () => {
  it('doubles from the base up to the cap, with no jitter at its lowest and highest random', () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7, 8].map((failed) => retryDelayMs(failed, policy, () => 0));
    const highest = [1, 2, 3, 4, 5, 6, 7, 8].map((failed) => retryDelayMs(failed, policy, () => 0.999_999));
    expect(lowest).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(highest).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('spreads retries between half the schedule and all of it', () => {
    for (let sample = 0; sample < 200; sample++) {
      const delay = retryDelayMs(3, policy);
      expect(delay).toBeGreaterThanOrEqual(2000);
      expect(delay).toBeLessThanOrEqual(4000);
    }
  });

  it('stays finite for an attempt count far past any real schedule', () => {
    expect(retryDelayMs(10_000, policy, () => 0.5)).toBe(45_000);
  });

  it('retries until the attempts are used up, then gives up', () => {
    const queuedAt = new Date('2026-12-04T00:00:00Z');
    const now = new Date('2026-12-04T00:01:00Z');
    expect(afterFailure({ failedAttempts: 1, queuedAt }, now, policy, () => 0)).toEqual({ retryAt: new Date('2026-12-04T00:01:00.500Z') });
    expect(afterFailure({ failedAttempts: 4, queuedAt }, now, policy, () => 0)).toEqual({ retryAt: new Date('2026-12-04T00:01:04Z') });
    expect(afterFailure({ failedAttempts: 5, queuedAt }, now, policy, () => 0)).toEqual({ giveUp: 'max_attempts' });
  });

  it('gives up when the next attempt would come later than the maximum age after the delivery was queued', () => {
    const queuedAt = new Date('2026-12-04T00:00:00Z');
    expect(afterFailure({ failedAttempts: 2, queuedAt }, new Date('2026-12-04T00:59:58Z'), policy, () => 0)).toEqual({ retryAt: new Date('2026-12-04T00:59:59Z') });
    expect(afterFailure({ failedAttempts: 2, queuedAt }, new Date('2026-12-04T00:59:59.500Z'), policy, () => 0)).toEqual({ giveUp: 'max_age' });
  });
});
