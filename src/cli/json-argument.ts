import { SkillsmithError } from "../errors.js";

/** Parses a JSON object given on the command line, saying how to quote it when it is not one. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SkillsmithError(
      "INVALID_ARGUMENTS",
      `${what} is not valid JSON (${(error as Error).message}); quote it in single quotes: '{"a": 1}'`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SkillsmithError("INVALID_ARGUMENTS", `${what} must be a JSON object, e.g. '{"path": "."}'`);
  }
  return value as Record<string, unknown>;
}
