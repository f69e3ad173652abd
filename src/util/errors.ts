// One error type for everything Dromedar reports to a person: a stable code, a
// readable message, and the HTTP status it maps to when it crosses the API.
export class DromedarError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DromedarError';
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
