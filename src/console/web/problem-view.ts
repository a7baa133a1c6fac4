import { ApiError } from './api';
import { h } from './dom';

/** An error as the auditor should read it: the problem's title, detail and each offending field. */
export function problemView(error: unknown): HTMLElement {
  if (error instanceof ApiError) {
    const problem = error.problem;
    return h(
      'div',
      { class: 'problem', attrs: { role: 'alert' } },
      h('strong', null, `${error.status} ${problem?.title ?? 'Error'}`),
      problem?.detail ? h('p', null, problem.detail) : null,
      problem?.errors && problem.errors.length > 0 ? h('ul', null, problem.errors.map((field) => h('li', null, h('code', null, field.field), `: ${field.detail}`))) : null,
    );
  }
  return h('div', { class: 'problem', attrs: { role: 'alert' } }, h('strong', null, 'Error'), h('p', null, error instanceof Error ? error.message : String(error)));
}
