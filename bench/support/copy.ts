import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFromStdin, to as copyToStdout } from 'pg-copy-streams';

/** Rows joined into chunks of about 256 KiB: one CopyData message (and socket write) per chunk, not per row. */
function chunked(lines: readonly string[]): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of lines) {
    current.push(line);
    size += line.length;
    if (size >= 256 * 1024) {
      chunks.push(current.join(''));
      current = [];
      size = 0;
    }
  }
  if (current.length > 0) chunks.push(current.join(''));
  return chunks;
}

/** COPY ... FROM STDIN of text-format rows (one row a line, each ending in a newline); returns the rows copied. */
export async function copyIn(client: ClientBase, sql: string, text: string | readonly string[]): Promise<number> {
  const stream = client.query(copyFromStdin(sql));
  await pipeline(Readable.from(typeof text === 'string' ? [text] : chunked(text)), stream);
  return stream.rowCount;
}

/** COPY (query) TO STDOUT in text format, as one string. */
export async function copyOut(client: ClientBase, sql: string): Promise<string> {
  const stream = client.query(copyToStdout(sql));
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One value in COPY text format: backslash, tab, newline and carriage return escaped; null as \N. */
export function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return /[\\\t\n\r]/.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;
}

export function copyRow(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(copyValue).join('\t')}\n`;
}

/** A bytea in COPY text format (hex). */
export function copyBytea(value: Buffer): string {
  return `\\x${value.toString('hex')}`;
}
