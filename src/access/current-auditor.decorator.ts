import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuditorRequest } from './access.guard';
import type { Principal } from './auditor';

/**
 * Whoever the access guard let through (an auditor route only: the guard has set it): key holder or token holder.
 * What they do is recorded against either (exports, finding triage: an API key, or the token's subject and issuer).
 */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest<AuditorRequest>().auditor!);
