/** A request an operator or API client got wrong (bad input, an unknown id): its stable code, a
 * message for them, and the HTTP status the admin endpoints answer with. */
export class Refusal extends Error {
  readonly code: string;
  readonly status: 400 | 404;
  constructor(code: string, message: string, status: 400 | 404) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
