import { EvidenceChain1795870608360 } from './1795870608360-EvidenceChain';
import { ChainFacetsByChain1795900000001 } from './1795900000001-ChainFacetsByChain';
import { Ledger1796000000000 } from './1796000000000-Ledger';
import { IndependentVerification1796100000000 } from './1796100000000-IndependentVerification';
import { SourceSetKeys1796220000000 } from './1796220000000-SourceSetKeys';

/** Every migration, in order. Listed explicitly so that the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [EvidenceChain1795870608360, ChainFacetsByChain1795900000001, Ledger1796000000000, IndependentVerification1796100000000, SourceSetKeys1796220000000];
