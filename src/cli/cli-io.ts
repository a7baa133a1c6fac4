/** What a command may touch of the outside world, so that it can be run in a test as well as in a process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  now(): Date;
  /** Every HTTP request the CLI makes goes through this (the global fetch in a process; a recorder in unit tests). */
  readonly fetch: typeof fetch;
  /** stderr is a terminal that can redraw a line (a progress bar), and how wide it is; undefined when it is not. */
  readonly terminalColumns?: number;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) or SIGTERM instead of ending the process at once; returns the function that
   * stops listening. A command that holds something to leave in order (a partial download) uses it.
   */
  onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** 0 done; 1 refused, unreachable or unreadable; 2 the command line itself is wrong; 130 interrupted (Ctrl-C). */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;
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
  else io.err(`jartrail: the service answered ${status}${typeof body === 'string' && body.trim() !== '' ? `: ${body.trim()}` : ''}\n`);
}
