import { RegistryErrorStatus, type RegistryErrorCode } from '../../schema/oci.ts';

/** A failure that the distribution-spec names; the front renders it as `{"errors":[{code,message,detail}]}`. */
export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    /** Response headers the error needs (WWW-Authenticate on UNAUTHORIZED). */
    readonly headers: Record<string, string> = {},
    /** A status other than the code's usual one (413 for a blob over the size cap, 409 for a busy upload). */
    status?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
    this.status = status ?? RegistryErrorStatus[code];
  }

  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    return {
      errors: [
        { code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) },
      ],
    };
  }
}
