import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { CliIo } from './cli-io';
import { CommandInput, type CommandSpec, type OptionSpec, UsageError } from './command-spec';
import { COMMANDS, GROUPS } from './commands';
import { API_KEY_OPTION, DEFAULT_SERVICE_URL, URL_OPTION } from './service';

/**
 * The command line, parsed by commander from the command table (src/cli/commands): commander because it is the
 * best-kept of the parsers that do subcommands, per-command help, `--version`, "did you mean" suggestions and
 * option checks (choices, required, repeatable) without any of it written here; immich's CLI, which our style
 * follows, uses it the same way. The table stays ours, so that the overview, the help and the handlers come from one
 * declaration. docs/adr/0008-a-command-table-on-commander.md says why not node's util.parseArgs, yargs or cac.
 */

/** What the line asks for: a command with its input, or text to print and an exit code (help, version, usage). */
export type ParsedLine =
  | { readonly kind: 'command'; readonly spec: CommandSpec; readonly input: CommandInput }
  | { readonly kind: 'printed' }
  | { readonly kind: 'usage'; readonly message: string; readonly command: string };

/** The version in package.json: looked up from here, as the CLI runs from src/ (tests) or dist/src/ (built). */
export function packageVersion(): string {
  for (let directory = __dirname; ; directory = dirname(directory)) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'jartrail' && manifest.version) return manifest.version;
    } catch {
      // No package.json here: look further up.
    }
    if (dirname(directory) === directory) return 'unknown';
  }
}

/** A usage error raised by commander, with the command it arose in (for the "run ... --help" hint). */
class LineError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

const optionsOf = (spec: CommandSpec) => [
  ...(spec.options ?? []),
  ...(spec.service ? [URL_OPTION] : []),
  ...(spec.service?.key === 'admin' ? [API_KEY_OPTION] : []),
];

/** `--name <NAME>` -> `--name NAME`, for the overview. */
const shownFlag = (flags: string) => flags.replace(/^-\w, /, '').replace(/ <([^>.]+)(\.\.\.)?>/, ' $1');

/** How a command is written in the overview: its words, operands and required options; `[options]` for the rest. */
function synopsis(spec: CommandSpec): string {
  const operands = (spec.operands ?? []).map(({ name, optional, variadic }) => (optional ? `[${name}${variadic ? '...' : ''}]` : `${name}${variadic ? '...' : ''}`));
  const required = (spec.options ?? []).filter((option) => option.required).map((option) => shownFlag(option.flags));
  const optional = optionsOf(spec).some((option) => !option.required);
  return ['jartrail', ...spec.words, ...operands, ...required, ...(optional ? ['[options]'] : [])].join(' ');
}

/** `jartrail --help`: every command under its heading, one line each; `jartrail COMMAND --help` says the rest. */
export function overview(): string {
  const sections = new Map<string, CommandSpec[]>();
  for (const spec of COMMANDS) sections.set(spec.section, [...(sections.get(spec.section) ?? []), spec]);
  const lines = ['Usage: jartrail <command> [options]', '       jartrail <command> --help     that command\'s own usage, options and examples', ''];
  for (const [section, specs] of sections) {
    lines.push(`${section}:`);
    for (const spec of specs) lines.push(`  ${synopsis(spec)}`, `      ${spec.summary}`);
    lines.push('');
  }
  lines.push(
    'Commands that talk to the service take --url URL (env JARTRAIL_URL, default ' + `${DEFAULT_SERVICE_URL}); admin commands`,
    'take --api-key KEY (env JARTRAIL_API_KEY). Keys and secrets are better passed in the environment: command-line',
    'arguments show in ps and shell history.',
    '',
    '  -V, --version             the version of jartrail',
    '  -h, --help                this overview; after a command, that command\'s usage',
    '',
    'Exit status: 0 done; 1 refused by the service, unreachable, an unreadable file, or a check that failed (details on',
    'stderr); 2 a usage error; 130 interrupted (an export then resumes when run again).',
    '',
  );
  return lines.join('\n');
}

function addOption(command: Command, spec: OptionSpec): void {
  const option = new Option(spec.flags, spec.required ? `${spec.description} (required)` : spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) {
    const parse = spec.parse;
    option.argParser((value: string) => {
      try {
        return parse(value);
      } catch (error) {
        // Commander prefixes "option '--x <X>' argument 'v' is invalid." to this.
        if (error instanceof UsageError) throw new InvalidArgumentError(`It ${error.message}.`);
        throw error;
      }
    });
  }
  if (spec.required) option.makeOptionMandatory();
  command.addOption(option);
}

/** The text after a command's options in its own help. */
function afterHelp(spec: CommandSpec): string {
  const parts: string[] = [];
  if (spec.details) parts.push(spec.details);
  if (spec.service?.key === 'admin') parts.push(`Needs an API key holding ${spec.service.scope}.`);
  return parts.length === 0 ? '' : `\n${parts.join('\n\n')}\n`;
}

/**
 * Leading options (`jartrail --url X sources list`) move behind the command words, where each command declares
 * them: commander reads a command's options only after its name, and the CLI has always taken them before too.
 */
function commandWordsFirst(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length && argv[index]!.startsWith('-') && argv[index] !== '-' && argv[index] !== '--') {
    const token = argv[index++]!;
    leading.push(token);
    const takesValue = token.startsWith('--') && !token.includes('=') && !['--help', '--version'].includes(token);
    if (takesValue && index < argv.length) leading.push(argv[index++]!);
  }
  const rest = argv.slice(index);
  if (leading.length === 0 || rest.length === 0) return [...argv];
  const end = rest.indexOf('--');
  return end === -1 ? [...rest, ...leading] : [...rest.slice(0, end), ...leading, ...rest.slice(end)];
}

/**
 * Parses one command line against the table. Help and the version are printed here (on io.out); a usage error comes
 * back as a message with the command it concerns; a command comes back with its checked input, not yet run.
 */
export function parseLine(argv: readonly string[], io: CliIo): ParsedLine {
  if (argv.length === 0 || (argv.length === 1 && ['help', '--help', '-h'].includes(argv[0]!))) {
    io.out(overview());
    return { kind: 'printed' };
  }
  // `jartrail help sources create` is `jartrail sources create --help`.
  const words = argv[0] === 'help' ? [...argv.slice(1), '--help'] : commandWordsFirst(argv);

  let chosen: { spec: CommandSpec; input: CommandInput } | undefined;
  const program = new Command('jartrail');
  const configure = (command: Command, path: string) =>
    command
      .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text), outputError: () => undefined })
      .exitOverride((error) => {
        throw error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? error : new LineError(error.message.replace(/^error: /, ''), path);
      });
  // A group's help lists its commands as the overview writes them (`show ID [options]`), not as commander would.
  const terms = new Map<Command, string>();
  program.configureHelp({ subcommandTerm: (command) => terms.get(command) ?? command.name() });
  configure(program, '').helpCommand(false).helpOption('-h, --help', 'this help').version(packageVersion(), '-V, --version', 'the version of jartrail');
  program.helpInformation = () => overview();

  const groups = new Map<string, Command>();
  const groupOf = (word: string): Command => {
    const known = groups.get(word);
    if (known) return known;
    const group = configure(program.command(word), word)
      .description(GROUPS[word] ?? '')
      .usage('<command> [options]');
    // A group alone, or with a word it does not know: say which commands it has, briefly.
    group.argument('[command]').action((unknown: string | undefined) => {
      const names = group.commands.map((command) => command.name()).join(', ');
      throw new LineError(unknown === undefined ? `${word} needs a command: ${names}` : `unknown command "${word} ${unknown}"; ${word} has ${names}`, word);
    });
    groups.set(word, group);
    return group;
  };

  for (const spec of COMMANDS) {
    const path = spec.words.join(' ');
    const parent = spec.words.length > 1 ? groupOf(spec.words[0]!) : program;
    const command = configure(parent.command(spec.words.at(-1)!), path)
      .description(spec.summary)
      .usage(synopsis(spec).split(' ').slice(1 + spec.words.length).join(' '));
    terms.set(command, synopsis(spec).split(' ').slice(spec.words.length).join(' '));
    for (const operand of spec.operands ?? []) {
      const name = `${operand.name}${operand.variadic ? '...' : ''}`;
      command.addArgument(new Argument(operand.optional ? `[${name}]` : `<${name}>`, operand.description));
    }
    for (const option of optionsOf(spec)) addOption(command, option);
    command.addHelpText('after', afterHelp(spec));
    command.action((...args: unknown[]) => {
      const self = args.at(-1) as Command;
      chosen = { spec, input: new CommandInput(path, self.processedArgs as (string | string[] | undefined)[], self.opts(), io.env) };
    });
  }

  try {
    program.parse(words, { from: 'user' });
  } catch (error) {
    if (error instanceof LineError) return { kind: 'usage', message: error.message, command: error.command };
    if (error instanceof CommanderError) return { kind: 'printed' };
    throw error;
  }
  if (!chosen) throw new Error('the command line chose no command');
  return { kind: 'command', ...chosen };
}

/** The short hint a usage error prints: the error, and where the usage is. */
export function usageHint(message: string, command: string): string {
  return `jartrail: ${message}\nRun 'jartrail ${command === '' ? '' : `${command} `}--help' for its usage.\n`;
}

