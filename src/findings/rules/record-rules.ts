import type { Rule, RuleName } from '../rule';
import { algPolicy } from './alg-policy';
import { conflictingRedelivery } from './conflicting-redelivery';
import { lifetimePolicy } from './lifetime-policy';
import { orphan } from './orphan';
import { redirectUriUnregistered } from './redirect-uri-unregistered';
import { requestUriReplay } from './request-uri-replay';
import { verdictMismatch } from './verdict-mismatch';

/** The rules about requests, verdicts and records: replays, algorithms, lifetimes, redirect URIs, orphans, conflicts. */
export const RECORD_RULES: Readonly<Partial<Record<RuleName, Rule>>> = {
  request_uri_replay: requestUriReplay,
  verdict_mismatch: verdictMismatch,
  alg_policy: algPolicy,
  lifetime_policy: lifetimePolicy,
  redirect_uri_unregistered: redirectUriUnregistered,
  orphan,
  conflicting_redelivery: conflictingRedelivery,
};
