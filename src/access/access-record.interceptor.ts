import { type CallHandler, type ExecutionContext, HttpException, Injectable, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { catchError, concatMap, from, type Observable } from 'rxjs';
import { ProblemException } from '../common/problem/problem';
import { ACCESS_METADATA, type AccessRule } from './access.decorator';
import type { AuditorRequest } from './access.guard';
import { AccessRecorder } from './access-recorder';

/** Records every auditor request that passed the guard, with the status it is answered with. */
@Injectable()
export class AccessRecordInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly recorder: AccessRecorder,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]);
    const request = context.switchToHttp().getRequest<AuditorRequest>();
    const auditor = request.auditor;
    if (rule?.kind !== 'auditor' || !auditor) return next.handle();

    const successStatus: number =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ?? (request.method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      concatMap((body) => from(this.recorder.record(request, auditor, successStatus).then(() => body))),
      catchError((error: unknown) =>
        from(
          this.recorder.record(request, auditor, statusOf(error)).then(() => {
            throw error;
          }),
        ),
      ),
    );
  }
}

function statusOf(error: unknown): number {
  if (error instanceof ProblemException) return error.status;
  if (error instanceof HttpException) return error.getStatus();
  return 500;
}
