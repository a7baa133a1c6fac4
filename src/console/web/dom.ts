/**
 * The one way the console builds DOM: elements with attributes set one by one and text as text nodes. There is no
 * path from a string to markup here (no innerHTML, no insertAdjacentHTML; lint forbids them and the page's
 * Content-Security-Policy requires Trusted Types for any such sink), because every value shown is evidence an
 * attacker may have written: tool names, summaries, claims, subjects.
 */
export type Child = Node | string | number | boolean | null | undefined | readonly Child[];

export interface Props {
  readonly class?: string;
  readonly id?: string;
  /** Plain attributes; event handler attributes and script URLs are refused. */
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly on?: { readonly [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void };
}

/** Links stay on this origin (hash routes, paths) or point at a blob the page made (a download). */
const SAFE_URL = /^(#|\/(?!\/)|blob:)/;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props?.class) element.className = props.class;
  if (props?.id) element.id = props.id;
  for (const [name, value] of Object.entries(props?.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (/^on/i.test(name) || name === 'style' || name === 'srcdoc') throw new Error(`the console sets no ${name} attribute`);
    const text = value === true ? '' : String(value);
    if ((name === 'href' || name === 'src' || name === 'action') && !SAFE_URL.test(text)) throw new Error(`refused URL for ${name}`);
    element.setAttribute(name, text);
  }
  for (const [event, handler] of Object.entries(props?.on ?? {})) element.addEventListener(event, handler as EventListener);
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Documentation text with `code` spans, as text and <code> elements (the docs' tables are the source). */
export function docText(text: string): Child[] {
  return text.split('`').map((part, index) => (index % 2 === 1 ? h('code', null, part) : part));
}

/** A JSON value as indented text, for claims, facts and details. */
export function json(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

export function time(iso: string | null | undefined): Child {
  if (!iso) return '—';
  return h('time', { attrs: { datetime: iso, title: iso } }, iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC'));
}

/** A definition list of label → value rows, skipping absent values. */
export function fields(rows: readonly (readonly [string, Child])[]): HTMLElement {
  const list = h('dl', { class: 'fields' });
  for (const [label, value] of rows) {
    if (value === undefined || value === null || value === '') continue;
    list.append(h('dt', null, label), h('dd', null, value));
  }
  return list;
}
