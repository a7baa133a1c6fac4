/** Environment variables through which the global setup tells each test worker where PostgreSQL is. */
export const TEST_ENV = {
  adminUrl: 'JARTRAIL_TEST_ADMIN_URL',
  template: 'JARTRAIL_TEST_TEMPLATE',
  runId: 'JARTRAIL_TEST_RUN_ID',
} as const;

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
