import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { AuditorRequest } from './access.guard';

/** The auditor the access guard let through (an auditor route only: the guard has set it). */
export const CurrentAuditor = createParamDecorator((_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuditorRequest>().auditor!);
