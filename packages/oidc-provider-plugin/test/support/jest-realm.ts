/**
 * jest runs each test file in a vm context with its own `Object`, while Node's `structuredClone` (which jest hands
 * through) builds its copies with Node's own. oidc-provider clones its static clients with structuredClone and then
 * checks `value.constructor === Object`, so under jest every client would be "invalid metadata"; outside jest the
 * two are one realm and the check passes. This rebuilds plain objects and arrays of a clone in the test file's realm,
 * for this test file only; anything else (buffers, keys) is left as cloned.
 */
export function structuredCloneInThisRealm(): void {
  const native = globalThis.structuredClone;
  const adopt = (value: unknown): unknown => {
    if (Array.isArray(value)) return Array.from(value, adopt);
    if (value !== null && typeof value === 'object') {
      const prototype = Object.getPrototypeOf(value) as object | null;
      if (prototype !== null && Object.getPrototypeOf(prototype) === null && prototype.constructor?.name === 'Object') {
        return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, adopt(entry)]));
      }
    }
    return value;
  };
  globalThis.structuredClone = ((value: unknown, options?: Parameters<typeof structuredClone>[1]) => adopt(native(value, options))) as typeof structuredClone;
}

/**
 * oidc-provider prints development notices (the in-memory adapter, the default error page, the runtime) through
 * console.warn and console.info; the test AS is a development setup on purpose, so those lines are dropped here and
 * every other line goes through.
 */
export function quietOidcProviderNotices(): void {
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
      original(...args);
    };
  }
}
