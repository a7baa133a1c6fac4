import { type ArgumentMetadata, Injectable, StandardSchemaValidationPipe } from '@nestjs/common';
import { ProblemException } from './problem';
import { fieldErrorsFromIssues } from './schema-issues';

/**
 * Nest's Standard Schema pipe (zod schemas given as `@Body({ schema })`, `@Query({ schema })`, ...), answering
 * a failure with problem details that name each field instead of a list of messages.
 */
@Injectable()
export class ProblemValidationPipe extends StandardSchemaValidationPipe {
  override async transform<T = unknown>(value: T, metadata: ArgumentMetadata): Promise<T> {
    const schema = metadata.schema;
    if (!schema || !this.toValidate(metadata)) return value;
    this.stripProtoKeys(value);
    const result = await this.validate(value, schema, this.validateOptions);
    if (result.issues) {
      const where = metadata.type === 'body' ? 'body' : metadata.type === 'query' ? 'query string' : 'path';
      throw new ProblemException('invalid-request', {
        detail: `the ${where} is not valid`,
        // A single named parameter (`@Param('digest', ...)`) is reported under its name.
        errors: fieldErrorsFromIssues(result.issues, value, typeof metadata.data === 'string' ? [metadata.data] : []),
      });
    }
    return result.value as T;
  }
}
