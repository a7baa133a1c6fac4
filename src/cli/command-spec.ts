import type { CliIo, ExitCode } from './cli-io';

/**
 * One command of the CLI, declared as data: its words, its operands and options, its help, and what it does. The
 * parser, the per-command `--help`, the overview (`jartrail --help`) and the usage errors are all built from these
 * (command-line.ts); a new command is one entry in a file of src/cli/commands/ and nothing else.
 */
export interface CommandSpec {
  /** The words that name it: `['sources', 'create']`. */
  readonly words: readonly string[];
  /** The heading it is listed under in the overview. */
  readonly section: string;
  /** One line, for the overview and the top of its own help. */
  readonly summary: string;
  /** More, shown after the options in its own help: what it prints, exit status, examples. */
  readonly details?: string;
  readonly operands?: readonly OperandSpec[];
  readonly options?: readonly OptionSpec[];
  /**
   * `admin`: talks to the service with an auditor API key (adds --url and --api-key), and `scope` says which scope
   * the key needs; `url`: talks to the service without a key (adds --url only).
   */
  readonly service?: { readonly key: 'admin'; readonly scope: string } | { readonly key: 'none' };
  run(input: CommandInput, io: CliIo): Promise<ExitCode>;
}

export interface OperandSpec {
  /** As shown in the usage: `ID`, `FILE`. */
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** Takes every remaining operand (the last one only). */
  readonly variadic?: boolean;
}

export interface OptionSpec {
  /** Commander's flags: `--name <NAME>`, `-o, --output <FILE>`, `--proofs` (a switch), `--scope <SCOPE...>` (repeatable). */
  readonly flags: string;
  readonly description: string;
  readonly choices?: readonly string[];
  /** Refused when missing. */
  readonly required?: boolean;
  /** Checks (and converts) the value when the line is parsed; throws a UsageError with the reason. */
  readonly parse?: (value: string) => unknown;
}

/** The command line asks for something the CLI cannot do; the message says what, the command's --help says how. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `grace-period` -> `gracePeriod`, as commander keys option values. */
const keyOf = (flag: string) => flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** What one command line gave a command: its operands and option values, already checked against its spec. */
export class CommandInput {
  constructor(
    /** `sources create`. */
    readonly name: string,
    readonly operands: readonly (string | readonly string[] | undefined)[],
    private readonly values: Readonly<Record<string, unknown>>,
    readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  /** An option's value; an empty one counts as absent (so that `--api-key ""` falls back to the environment). */
  string(flag: string): string | undefined {
    const value = this.values[keyOf(flag)];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  required(flag: string): string {
    const value = this.string(flag);
    if (value === undefined) throw new UsageError(`${this.name} needs --${flag}`);
    return value;
  }

  /** A value converted by its spec's `parse`. */
  parsed<T>(flag: string): T | undefined {
    return this.values[keyOf(flag)] as T | undefined;
  }

  list(flag: string): readonly string[] {
    const value = this.values[keyOf(flag)];
    return Array.isArray(value) ? (value as string[]) : [];
  }

  switch(flag: string): boolean {
    return this.values[keyOf(flag)] === true;
  }

  /** Whether the option was given at all (an empty value included). */
  given(flag: string): boolean {
    return this.values[keyOf(flag)] !== undefined;
  }

  operand(index: number, what: string): string {
    const value = this.operands[index];
    if (typeof value !== 'string' || value === '') throw new UsageError(`${this.name} needs the ${what}`);
    return value;
  }

  rest(index: number): readonly string[] {
    const value = this.operands[index];
    return Array.isArray(value) ? (value as readonly string[]) : [];
  }

  /** An environment variable, empty counting as absent. */
  fromEnv(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }
}

/** Checks made when the line is parsed, shared by several commands. */
export function wholeNumber(minimum: 0 | 1): (value: string) => number {
  return (value) => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < minimum) throw new UsageError(`must be a whole number of at least ${minimum}, not "${value}"`);
    return Number(value);
  };
}
