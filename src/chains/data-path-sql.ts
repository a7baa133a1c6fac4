import { sqlTextLiteral } from '../common/sql-literal';
import type { DataPath } from '../evidence/data-path';

/** `e.data -> 'a' ->> 'b'`: the text at a path of a jsonb column, as the evidence core's valueAt reads it. */
export function textAtSql(column: string, path: DataPath): string {
  if (path.length === 0) throw new Error('a text is read at a member of the data, not the data itself');
  return [column, ...path.slice(0, -1).map((member) => `-> ${sqlTextLiteral(member)}`), `->> ${sqlTextLiteral(path.at(-1)!)}`].join(' ');
}
