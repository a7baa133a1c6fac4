import { Keyring } from '../common/crypto/keyring';
import { loadConfig } from '../config/app-config';
import { sequencerWorkerData } from './ledger-sequencer.service';

describe('the sequencer worker thread', () => {
  const masterKey = Buffer.alloc(32, 3).toString('base64url');
  const adminKey = 'adm_0123456789abcdef0123456789abcdef-secret';
  const config = loadConfig({ JARTRAIL_MASTER_KEY: masterKey, BOOTSTRAP_ADMIN_KEY: adminKey, DATABASE_URL: 'postgres://app:pw@db/jartrail' });
  const keyring = new Keyring(Buffer.from(masterKey, 'base64url'));

  it('gets the database URL and timeouts, the ledger key sealing keys and the ledger settings, nothing else', () => {
    const data = sequencerWorkerData(config, keyring, 'postgres://app:pw@db/jartrail');
    expect(data).toEqual({
      databaseUrl: 'postgres://app:pw@db/jartrail',
      ledgerKeySealingKeys: keyring.sealing.only('ledger key'),
      ledger: config.ledger,
      database: { connectTimeoutMs: config.database.connectTimeoutMs, statementTimeoutMs: config.database.statementTimeoutMs },
    });
  });

  it('never gets the master key, the bootstrap admin key or any other key derived from the master key', () => {
    const text = JSON.stringify(sequencerWorkerData(config, keyring, 'postgres://app:pw@db/jartrail'));
    for (const secret of [masterKey, adminKey, keyring.sealingKey.toString('base64url'), keyring.checkValue]) expect(text).not.toContain(secret);
  });
});
