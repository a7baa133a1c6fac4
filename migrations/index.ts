import { EvidenceChain1795870608360 } from './1795870608360-EvidenceChain';
import { ChainFacetsByChain1795900000001 } from './1795900000001-ChainFacetsByChain';
import { Ledger1796000000000 } from './1796000000000-Ledger';
import { IndependentVerification1796100000000 } from './1796100000000-IndependentVerification';
import { PurgeGate1796200000000 } from './1796200000000-PurgeGate';
import { VerdictOfPurgedReport1796210000000 } from './1796210000000-VerdictOfPurgedReport';
import { UnsignedChainFacet1796210000001 } from './1796210000001-UnsignedChainFacet';
import { SourceSetKeys1796220000000 } from './1796220000000-SourceSetKeys';
import { ConflictsByOriginal1796240000000 } from './1796240000000-ConflictsByOriginal';
import { AccessRecordsForAuditors1796240000001 } from './1796240000001-AccessRecordsForAuditors';
import { DisableClientsAndDecryptionKeys1796250000000 } from './1796250000000-DisableClientsAndDecryptionKeys';
import { MasterKeyRotation1796250000001 } from './1796250000001-MasterKeyRotation';
import { LinkAfterCommit1796300000000 } from './1796300000000-LinkAfterCommit';
import { Findings1796400000000 } from './1796400000000-Findings';
import { FindingTriage1796400000001 } from './1796400000001-FindingTriage';
import { FindingNotifications1796500000000 } from './1796500000000-FindingNotifications';
import { Exports1796600000000 } from './1796600000000-Exports';
import { ExportFormats1796700000000 } from './1796700000000-ExportFormats';
import { AccessRecordsOfTokens1796800000000 } from './1796800000000-AccessRecordsOfTokens';
import { ExportsOfTokenHolders1796810000000 } from './1796810000000-ExportsOfTokenHolders';
import { TriageOfTokenHolders1796820000000 } from './1796820000000-TriageOfTokenHolders';
import { RequireEncryptedRequestObject1796900000000 } from './1796900000000-RequireEncryptedRequestObject';
import { FindingCheckCauses1796900000001 } from './1796900000001-FindingCheckCauses';
import { CompressedExportChunks1797000000000 } from './1797000000000-CompressedExportChunks';
import { ExportChunksStoredExternal1797000000001 } from './1797000000001-ExportChunksStoredExternal';

/** Every migration, in order. Listed explicitly so that the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [
  EvidenceChain1795870608360,
  ChainFacetsByChain1795900000001,
  Ledger1796000000000,
  IndependentVerification1796100000000,
  PurgeGate1796200000000,
  VerdictOfPurgedReport1796210000000,
  UnsignedChainFacet1796210000001,
  SourceSetKeys1796220000000,
  ConflictsByOriginal1796240000000,
  AccessRecordsForAuditors1796240000001,
  DisableClientsAndDecryptionKeys1796250000000,
  MasterKeyRotation1796250000001,
  LinkAfterCommit1796300000000,
  Findings1796400000000,
  FindingTriage1796400000001,
  FindingNotifications1796500000000,
  Exports1796600000000,
  ExportFormats1796700000000,
  AccessRecordsOfTokens1796800000000,
  ExportsOfTokenHolders1796810000000,
  TriageOfTokenHolders1796820000000,
  RequireEncryptedRequestObject1796900000000,
  FindingCheckCauses1796900000001,
  CompressedExportChunks1797000000000,
  ExportChunksStoredExternal1797000000001,
];
