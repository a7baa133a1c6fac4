import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { SourceEntity } from './source.entity';

/**
 * Which source holds each key registered to sign Security Event Tokens, by its RFC 7638 thumbprint. The primary
 * key is the rule "one key, one source", held by PostgreSQL so that two racing registrations cannot both win: a
 * SET's key then names one transmitter. Configuration, rewritten with the source's `set_jwks`.
 */
@Entity('source_set_keys')
@Index('idx_source_set_keys_source', ['sourceId'])
export class SourceSetKeyEntity {
  /** base64url SHA-256 JWK thumbprint (RFC 7638): the key itself, whatever its kid. */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_source_set_keys' })
  thumbprint!: string;

  @Column('uuid', { name: 'source_id' })
  sourceId!: string;

  @ManyToOne(() => SourceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'source_id', foreignKeyConstraintName: 'fk_source_set_keys_source' })
  source?: SourceEntity;
}
