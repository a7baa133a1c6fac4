/** The words the console shows for a reason code or a finding rule (catalogue.ts reads them from the docs). */
export interface Catalogue {
  /** Reason code → the verdict it leads to and the rule it breaks. */
  readonly reasons: Readonly<Record<string, { readonly verdict: string; readonly rule: string }>>;
  /** Finding rule → its severity and when it fires. */
  readonly rules: Readonly<Record<string, { readonly severity: string; readonly firesWhen: string }>>;
}
