import { EvidenceChain1795870608360 } from './1795870608360-EvidenceChain';
import { IndependentVerification1796100000000 } from './1796100000000-IndependentVerification';

/** Every migration, in order. Listed explicitly so that the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [EvidenceChain1795870608360, IndependentVerification1796100000000];
