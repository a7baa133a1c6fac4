import type { components } from '../../client/api-types';
import { authorization } from './session';

export type Schemas = components['schemas'];
export type Chain = Schemas['Chain'];
export type ChainRecord = Schemas['Record'];
export type Verification = Chain['request_object']['verifications'][number];
export type Finding = Schemas['Finding'];
export type SearchResult = Schemas['ChainSearchResult'];
export type LookupResult = Schemas['LookupResult'];
export type EvidenceBundleView = Schemas['EvidenceBundle'];
export type ExportJob = Schemas['Export'];

/** RFC 9457 problem details as the service writes them. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly errors?: readonly { readonly field: string; readonly code: string; readonly detail: string }[];
  readonly [extension: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem?.detail ?? problem?.title ?? `the service answered ${status}`);
  }
}

/** Called when the service says the credential is no good (401): the console goes back to sign-in. */
let onUnauthenticated: (problem: ApiError) => void = () => undefined;
export function whenUnauthenticated(handler: (problem: ApiError) => void): void {
  onUnauthenticated = handler;
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** A sign-in attempt answers its own 401 (a wrong key), instead of sending the console back to sign-in. */
  readonly signingIn?: boolean;
}

export function pathWithQuery(path: string, query: RequestOptions['query'] = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(name, value);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  // Same origin only: the API is the service that served the page.
  const response = await fetch(pathWithQuery(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok) {
    const problem = (await response.json().catch(() => undefined)) as Problem | undefined;
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && !options.signingIn) onUnauthenticated(error);
    throw error;
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await send(path, options)).json()) as T;
}

export async function apiBlob(path: string): Promise<Blob> {
  return (await send(path, {})).blob();
}
