import { type DataPath, valueAt } from './data-path';

/**
 * A searchable value a record brings to each chain it joins (`chain_facets`), declared as data so that it has one
 * meaning in two places: the linker composes it into one set-based SQL statement per batch
 * (`ChainLinksRepository`), and code without a database (the bench's bulk seed) evaluates it in JavaScript
 * (`facetValuesOf`). A path reads a value as PostgreSQL's `->>` does: text, or nothing when absent.
 *
 * - `text`: the text at `path`.
 * - `trueWhenAny`: `'true'` when the text at one of the paths equals the given text; otherwise no facet.
 */
export type FacetDeclaration =
  | { readonly name: string; readonly text: DataPath }
  | { readonly name: string; readonly trueWhenAny: readonly { readonly path: DataPath; readonly equals: string }[] };

/**
 * The facets of jartrail's own verdict on a verification: not read from the record's data but from its
 * `independent_verdicts` row, written by the verification worker, or by the linker for a record judged before it
 * was linked.
 */
export const VERDICT_FACET_NAMES = ['independent_verdict', 'verdict_mismatch'] as const;

/** What `->>` makes of the strings and booleans that declarations point at (the schemas hold nothing else there). */
function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The facets one record's data brings, by its type's declarations, as the linker's SQL computes them. */
export function facetValuesOf(facets: readonly FacetDeclaration[], data: object): { name: string; value: string }[] {
  return facets.flatMap((facet) => {
    const value =
      'text' in facet
        ? textOf(valueAt(data, facet.text))
        : facet.trueWhenAny.some((condition) => textOf(valueAt(data, condition.path)) === condition.equals)
          ? 'true'
          : undefined;
    return value === undefined ? [] : [{ name: facet.name, value }];
  });
}
