/** A UTF-16 surrogate without its pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text PostgreSQL can store: it refuses NUL in `text` and `jsonb`, and a lone surrogate in `jsonb` (and UTF-8 has
 * no encoding for one). Each becomes U+FFFD. For what jartrail writes itself about attacker-made input (a verdict's
 * reasons quote the object, an error message quotes jose): the record of it must not fail to be written.
 */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
}

/** The same value with every string in it, member names included, made storable. */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storableJson) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [storableText(name), storableJson(member)])) as T;
  }
  return value;
}
