import type { ServiceUrl } from './service';

/** The service's answer: its status and its body, parsed when it is JSON (problem details included). */
export interface ServiceAnswer {
  readonly status: number;
  readonly ok: boolean;
  /** Parsed JSON, the text of a non-JSON body, or undefined for an empty one. */
  readonly body: unknown;
}

export interface ServiceRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Below the service URL, starting with `/`, query included. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as it is: the caller sets the content type, and a signed body must not be re-serialised. */
  readonly body?: string;
}

/** The service could not be asked at all: refused connection, unknown host, TLS failure. */
export class ServiceUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    const reason = (cause as { cause?: { code?: string; message?: string } }).cause;
    super(`could not reach ${url} (${reason?.code ?? reason?.message ?? (cause as Error).message}); is the service running, and is --url (or JARTRAIL_URL) right?`, { cause });
    this.name = 'ServiceUnreachableError';
  }
}

const JSON_MEDIA_TYPE = /^application\/([a-z.+-]*\+)?json\s*(;|$)/i;

/**
 * One HTTP exchange with the service, its body sent as given. Only `send` uses it: a webhook body is signed byte for
 * byte, so it must go as written, which a typed client that serialises bodies itself would not promise. Every other
 * command goes through the typed client (service.ts).
 */
export async function callService(fetch: typeof globalThis.fetch, url: ServiceUrl, request: ServiceRequest): Promise<ServiceAnswer> {
  let response: Response;
  try {
    response = await fetch(`${url}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
  } catch (error) {
    throw new ServiceUnreachableError(url, error);
  }
  const text = await response.text();
  let body: unknown = text === '' ? undefined : text;
  if (text !== '' && JSON_MEDIA_TYPE.test(response.headers.get('content-type') ?? '')) {
    try {
      body = JSON.parse(text);
    } catch {
      // A body that claims JSON but is not stays text: the user still sees what came back.
    }
  }
  return { status: response.status, ok: response.ok, body };
}
