import { InvalidArgumentError } from "commander";

/** A commander option parser for counts and limits: 1, 2, 3, … */
export function positiveWholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}
