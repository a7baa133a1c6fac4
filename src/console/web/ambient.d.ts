/**
 * The shared ledger modules import ../common/crypto/sha256.ts, whose Node implementation the bundle replaces with
 * sha256.browser.ts (console-build.ts). This declares just what that file uses, so that tsc checks the shared code
 * without Node's types, and so that no Node API (Buffer, ...) can slip into code the page runs.
 */
declare module 'node:crypto' {
  export function createHash(algorithm: 'sha256'): { update(data: Uint8Array): void; digest(): Uint8Array };
}

/** The reason and rule texts of the docs (console-build.ts, catalogue.ts). */
declare module 'jartrail:catalogue' {
  const catalogue: import('../catalogue-types').Catalogue;
  export default catalogue;
}

declare module '*.css';
