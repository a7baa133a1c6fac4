/** A path into an event's `data`: member names from the top ([] is the data itself). */
export type DataPath = readonly string[];

/** The value at a path, or undefined where a member is missing or a step is not an object. */
export function valueAt(data: unknown, path: DataPath): unknown {
  let value = data;
  for (const member of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[member];
  }
  return value;
}
