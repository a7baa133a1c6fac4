import { AccessRecordEntity } from '../access/access-record.entity';
import { ApiKeyEntity } from '../access/api-key.entity';
import { ChainFacetEntity } from '../chains/chain-facet.entity';
import { ChainMemberEntity } from '../chains/chain-member.entity';
import { ChainEntity } from '../chains/chain.entity';
import { DigestAliasEntity } from '../chains/digest-alias.entity';
import { TokenRefEntity } from '../chains/token-ref.entity';
import { EventConflictEntity } from '../evidence/event-conflict.entity';
import { EventEntity } from '../evidence/event.entity';
import { FindingChangeEntity } from '../findings/finding-change.entity';
import { FindingCheckEntity } from '../findings/finding-check.entity';
import { FindingTriageEntity } from '../findings/finding-triage.entity';
import { FindingEntity } from '../findings/finding.entity';
import { NotificationAttemptEntity } from '../findings/notifications/notification-attempt.entity';
import { NotificationDeliveryEntity } from '../findings/notifications/notification-delivery.entity';
import { SubscriptionEntity } from '../findings/notifications/subscription.entity';
import { ClientEntity } from '../request-objects/client.entity';
import { DecryptionKeyEntity } from '../request-objects/decryption-key.entity';
import { IndependentVerdictEntity } from '../request-objects/independent-verdict.entity';
import { VerificationQueueEntity } from '../request-objects/verification-queue.entity';
import { LedgerCheckpointEntity } from '../ledger/ledger-checkpoint.entity';
import { LedgerEntryEntity } from '../ledger/ledger-entry.entity';
import { LedgerNodeEntity } from '../ledger/ledger-node.entity';
import { LedgerPendingEntity } from '../ledger/ledger-pending.entity';
import { LinkPendingEntity } from '../chains/link-pending.entity';
import { LedgerPurgeEntity } from '../ledger/ledger-purge.entity';
import { LedgerSigningKeyEntity } from '../ledger/ledger-signing-key.entity';
import { SourceSecretEntity } from '../sources/source-secret.entity';
import { SourceSetKeyEntity } from '../sources/source-set-key.entity';
import { SourceEntity } from '../sources/source.entity';
import { LedgerSigningKeySecretEntity } from '../ledger/ledger-signing-key-secret.entity';
import { ServiceKeyEntity } from './service-key.entity';
import { ServiceSettingEntity } from './service-setting.entity';

export const ENTITIES = [
  ServiceSettingEntity,
  SourceEntity,
  SourceSecretEntity,
  SourceSetKeyEntity,
  ApiKeyEntity,
  AccessRecordEntity,
  EventEntity,
  EventConflictEntity,
  ChainEntity,
  DigestAliasEntity,
  ChainMemberEntity,
  ChainFacetEntity,
  TokenRefEntity,
  LinkPendingEntity,
  FindingEntity,
  FindingChangeEntity,
  FindingCheckEntity,
  FindingTriageEntity,
  SubscriptionEntity,
  NotificationDeliveryEntity,
  NotificationAttemptEntity,
  ClientEntity,
  DecryptionKeyEntity,
  VerificationQueueEntity,
  IndependentVerdictEntity,
  LedgerPendingEntity,
  LedgerEntryEntity,
  LedgerNodeEntity,
  LedgerSigningKeyEntity,
  LedgerCheckpointEntity,
  LedgerPurgeEntity,
  LedgerSigningKeySecretEntity,
  ServiceKeyEntity,
];
