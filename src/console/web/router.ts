/** Hash routes: the page is one document at /review/, so a route never reaches the server (nor its logs). */
export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export interface Route {
  readonly name: 'search' | 'chain' | 'keys' | 'access';
  readonly digest?: string;
  readonly params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#/, '');
  const [path = '', query = ''] = hash.split('?', 2);
  const params = new URLSearchParams(query);
  const chain = /^\/chain\/([^/]+)$/.exec(path);
  if (chain) return { name: 'chain', digest: decodeURIComponent(chain[1]!), params };
  if (path === '/keys') return { name: 'keys', params };
  if (path === '/access') return { name: 'access', params };
  return { name: 'search', params };
}
