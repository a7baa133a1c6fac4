import { EvidenceChain1795870608360 } from './1795870608360-EvidenceChain';
import { Ledger1796000000000 } from './1796000000000-Ledger';

/** Every migration, in order. Listed explicitly so that the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [EvidenceChain1795870608360, Ledger1796000000000];
