import { readFile } from 'node:fs/promises';
import { createJartrailClient, type JartrailClient } from '../client/jartrail-client';
import { CliFailure, type CliIo, EXIT, type ExitCode, formatJson, reportRefusal } from './cli-io';
import { type CommandInput, type OptionSpec, UsageError } from './command-spec';
import { Secret } from './secret';
import { ServiceUnreachableError } from './service-client';

/** Where the service listens: a base URL without a trailing slash (it may carry a path prefix). */
export type ServiceUrl = string & { readonly __brand: 'ServiceUrl' };

export const DEFAULT_SERVICE_URL = 'http://localhost:3000';

export const URL_OPTION: OptionSpec = { flags: '--url <URL>', description: `the service (env JARTRAIL_URL, default ${DEFAULT_SERVICE_URL})` };
export const API_KEY_OPTION: OptionSpec = {
  flags: '--api-key <KEY>',
  description: 'an auditor API key (env JARTRAIL_API_KEY; better there: arguments show in ps and shell history)',
};

/** `origin` names where the URL came from (--url or JARTRAIL_URL), so that the error points at the right place. */
export function serviceUrlOf(given: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`${origin} must be an http:// or https:// URL, not "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${origin} must be an http:// or https:// URL`);
  // Credentials in a URL end up in logs and error messages; keys go in --api-key or the environment.
  if (url.username || url.password) throw new UsageError(`${origin} must not carry credentials`);
  return url;
}

export function baseOf(url: URL): ServiceUrl {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}` as ServiceUrl;
}

/** --url, else JARTRAIL_URL, else the default. */
export function serviceUrl(input: CommandInput): URL {
  const flag = input.string('url');
  if (flag !== undefined) return serviceUrlOf(flag, '--url');
  const fromEnv = input.fromEnv('JARTRAIL_URL');
  return fromEnv === undefined ? new URL(DEFAULT_SERVICE_URL) : serviceUrlOf(fromEnv, 'JARTRAIL_URL');
}

export function apiKey(input: CommandInput): Secret {
  const key = input.string('api-key') ?? input.fromEnv('JARTRAIL_API_KEY');
  if (key === undefined) throw new UsageError(`${input.name} needs an API key: --api-key or JARTRAIL_API_KEY`);
  return new Secret(key);
}

/** fetch, with a connection that fails reported as what it is (the service is not there), not as a stack. */
function reporting(fetch: typeof globalThis.fetch, base: ServiceUrl): typeof globalThis.fetch {
  return async (request, init) => {
    try {
      return await fetch(request, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ServiceUnreachableError(base, error);
    }
  };
}

export interface Service {
  readonly url: ServiceUrl;
  readonly api: JartrailClient;
}

/** The typed client (src/client, generated from docs/openapi.json) for this command line's service and key. */
export function service(input: CommandInput, io: CliIo, withKey = true): Service {
  const url = baseOf(serviceUrl(input));
  const key = withKey ? apiKey(input) : undefined;
  return { url, api: createJartrailClient({ baseUrl: url, apiKey: key?.reveal(), fetch: reporting(io.fetch, url) }) };
}

/** What openapi-fetch answers: the parsed body on success, the parsed problem (or text) otherwise. */
export interface Answer {
  readonly data?: unknown;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * An admin command's answer: the JSON on stdout and exit 0, or the service's problem document on stderr and exit 1.
 * `failUnlessOk`: the answer is a report with `ok`, and exit 1 unless it is true.
 */
export async function show(io: CliIo, answer: Promise<Answer>, options: { failUnlessOk?: boolean } = {}): Promise<ExitCode> {
  const { data, error, response } = await answer;
  if (!response.ok) {
    reportRefusal(io, response.status, error);
    return EXIT.failed;
  }
  if (data !== undefined) io.out(formatJson(data));
  if (options.failUnlessOk && (data as { ok?: unknown } | undefined)?.ok !== true) return EXIT.failed;
  return EXIT.ok;
}

/** The JSON of a --file (or --jwks) operand; `-` reads stdin. */
export async function readJsonFile(path: string, io: CliIo, what = ''): Promise<unknown> {
  const name = what === '' ? path : `${what} ${path}`;
  let text: string;
  try {
    text = path === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${name} is not JSON: ${(error as Error).message}`);
  }
}
