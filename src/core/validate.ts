import { z } from "zod";
import { ValidationError } from "../errors.js";

/** Validate a boundary value with zod; failures become one ValidationError listing every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join(".") : "(value)";
    return `${field}: ${issue.message}`;
  });
  throw new ValidationError(`invalid ${what}: ${problems.join("; ")}`);
}

export const njobsSchema = z.number().int().min(1).max(1024);
