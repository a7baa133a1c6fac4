/** What a command may touch of the outside world, so that it can be run in a test as well as in a process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  now(): Date;
}

/** 0 done; 1 refused, unreachable or unreadable; 2 the command line itself is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A command failed for a reason the user can act on; the message is printed as it is, without a stack. */
export class CliFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliFailure';
  }
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A refused request: the problem document (RFC 9457) as the service wrote it, or whatever else it sent. */
export function reportRefusal(io: CliIo, status: number, body: unknown): void {
  if (body !== null && typeof body === 'object') io.err(formatJson(body));
  else io.err(`jartrail: the service answered ${status}${typeof body === 'string' ? `: ${body.trim()}` : ''}\n`);
}
