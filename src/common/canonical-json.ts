import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) serialization. Only JSON values go in, so there is always a result. */
export function canonicalJson(value: unknown): string {
  const serialized = canonicalize(value);
  if (serialized === undefined) throw new TypeError('the value has no JSON serialization');
  return serialized;
}
