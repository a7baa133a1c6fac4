import { dataSourceOptions, sequencerTimeouts } from './data-source-options';

const extraOf = (options: ReturnType<typeof dataSourceOptions>) => (options as { extra: Record<string, number> }).extra;

describe('dataSourceOptions timeouts', () => {
  it('bound the connect, the server-side statement and, 1 s later, the client-side wait', () => {
    expect(extraOf(dataSourceOptions('postgres://x/y', 20, { connectMs: 5000, statementMs: 15_000 }))).toEqual({
      max: 20,
      connectionTimeoutMillis: 5000,
      statement_timeout: 15_000,
      query_timeout: 16_000,
    });
  });

  it('leave statements unbounded without a statement timeout (migrations) and everything unbounded without timeouts', () => {
    expect(extraOf(dataSourceOptions('postgres://x/y', 2, { connectMs: 5000 }))).toEqual({ max: 2, connectionTimeoutMillis: 5000 });
    expect(extraOf(dataSourceOptions('postgres://x/y', 2))).toEqual({ max: 2 });
  });

  it('give the ledger sequencer at least 60 s a statement', () => {
    expect(sequencerTimeouts({ database: { connectTimeoutMs: 5000, statementTimeoutMs: 15_000 } })).toEqual({ connectMs: 5000, statementMs: 60_000 });
    expect(sequencerTimeouts({ database: { connectTimeoutMs: 5000, statementTimeoutMs: 90_000 } })).toEqual({ connectMs: 5000, statementMs: 90_000 });
  });
});
