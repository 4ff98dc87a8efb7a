import { InletError } from "../../consumer/domain/errors.ts";

/** `disposition:code[:retryAfterMs]` of the error a job ends with, or "no error". */
export async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "no error";
  } catch (error) {
    return error instanceof InletError ? `${error.disposition}:${error.code}${error.retryAfterMs !== undefined ? `:${error.retryAfterMs}` : ""}` : `not an InletError: ${String(error)}`;
  }
}
