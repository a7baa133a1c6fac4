// pg-copy-streams ships no types (and @types/pg-copy-streams is not a dependency): what the export path and the benchmarks use of it.
declare module 'pg-copy-streams' {
  import type { Readable, Writable } from 'node:stream';
  import type { Submittable } from 'pg';

  export interface CopyStreamQuery extends Writable, Submittable {
    readonly rowCount: number;
  }
  export interface CopyToStreamQuery extends Readable, Submittable {
    readonly rowCount: number;
  }
  export function from(text: string): CopyStreamQuery;
  export function to(text: string): CopyToStreamQuery;
}
