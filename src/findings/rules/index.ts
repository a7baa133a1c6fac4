import type { Rule, RuleName } from '../rule';
import { GRANT_RULES } from './grant-rules';
import { RECORD_RULES } from './record-rules';

/** Every rule, by name: the findings evaluator runs each of them over every subject it evaluates. */
export const ALL_RULES: Readonly<Record<RuleName, Rule>> = { ...GRANT_RULES, ...RECORD_RULES } as Record<RuleName, Rule>;
