import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Facts about the deployment that every replica must agree on, such as the master key's check value. */
@Entity('service_settings')
export class ServiceSettingEntity {
  @PrimaryColumn('text', { primaryKeyConstraintName: 'pk_service_settings' })
  name!: string;

  @Column('text')
  value!: string;
}
