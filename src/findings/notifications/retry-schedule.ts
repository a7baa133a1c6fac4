/** How a failing delivery is retried (NOTIFICATIONS_RETRY_BASE_MS, _CAP_MS, _MAX_ATTEMPTS, _MAX_AGE_SECONDS). */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
}

export type AfterFailure = { readonly retryAt: Date } | { readonly giveUp: 'max_attempts' | 'max_age' };

/**
 * The wait after the n-th failed attempt: base·2^(n−1), at most cap, with "equal jitter" (half of it fixed, half
 * random), so replicas and subscriptions that failed together do not retry in lockstep, yet no retry comes sooner
 * than half the schedule. `random` is Math.random's contract: [0, 1).
 */
export function retryDelayMs(failedAttempts: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 52);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** After a failed attempt: when to try again, or why not (the attempts are used up, or the retry would be too late). */
export function afterFailure(
  delivery: { readonly failedAttempts: number; readonly queuedAt: Date },
  now: Date,
  policy: RetryPolicy,
  random: () => number = Math.random,
): AfterFailure {
  if (delivery.failedAttempts >= policy.maxAttempts) return { giveUp: 'max_attempts' };
  const retryAt = new Date(now.getTime() + retryDelayMs(delivery.failedAttempts, policy, random));
  if (retryAt.getTime() - delivery.queuedAt.getTime() > policy.maxAgeMs) return { giveUp: 'max_age' };
  return { retryAt };
}
