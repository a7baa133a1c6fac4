import { inspect } from 'node:util';

const REDACTED = '[secret]';

/**
 * A credential given to the CLI (an API key, a source secret). It prints as `[secret]` however it is printed
 * (template string, JSON, console.log), so that no error message or debug output can carry it by accident;
 * `reveal()` is the one way to the value, used only where it goes on the wire.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
