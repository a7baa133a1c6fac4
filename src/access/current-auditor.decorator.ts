import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ProblemException } from '../common/problem/problem';
import type { AuditorRequest } from './access.guard';
import type { KeyAuditor, Principal } from './auditor';

/** Whoever the access guard let through (an auditor route only: the guard has set it): key holder or token holder. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest<AuditorRequest>().auditor!);

/**
 * The API key holder the access guard let through. Exports and finding triage are recorded against an API key (their
 * tables reference api_keys), so a signed-in token holder is refused there with 403 rather than recorded as nobody.
 */
export const CurrentAuditor = createParamDecorator((_: unknown, context: ExecutionContext): KeyAuditor => {
  const auditor = context.switchToHttp().getRequest<AuditorRequest>().auditor!;
  if (auditor.kind !== 'api_key') {
    throw new ProblemException('forbidden', {
      detail: 'this action is recorded against an API key: sign in with an API key to perform it',
      extensions: { required_credential: 'api_key' },
    });
  }
  return auditor;
});
