import { createHash } from "node:crypto";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { LRUCache } from "lru-cache";
import { errorMessage } from "./errors.js";
import { safeRegExpEngine } from "./safe-regexp.js";

/**
 * JSON Schema validation of untrusted schemas (downstream tool definitions, skill inputs).
 * No `loadSchema` is given, so a remote `$ref` is never fetched: it fails to compile and is reported.
 * Schemas are bounded in size, depth and node count before compiling, `pattern`s run on a linear-time engine,
 * and compiled validators are cached by a hash of their text.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const MAX_SCHEMA_CHARS = 256_000;
/** Deeper than any real tool's schema; Ajv compiles (and validates) recursively. */
const MAX_SCHEMA_DEPTH = 64;
/** Objects, arrays and values in all: what compiling costs grows with it. */
const MAX_SCHEMA_NODES = 20_000;

type Draft = "07" | "2019" | "2020";

function makeAjv(draft: Draft): Ajv {
  const options = {
    allErrors: true,
    strict: false,
    logger: false,
    validateSchema: false,
    code: { regExp: safeRegExpEngine },
  } as const;
  const ajv =
    draft === "2020" ? new Ajv2020(options) : draft === "2019" ? new Ajv2019(options) : new Ajv(options);
  return addFormats(ajv as Ajv);
}

const engines = new Map<Draft, Ajv>();
function engine(draft: Draft): Ajv {
  let ajv = engines.get(draft);
  if (!ajv) {
    ajv = makeAjv(draft);
    engines.set(draft, ajv);
  }
  return ajv;
}

const compiled = new LRUCache<string, ValidateFunction | Error>({ max: 1000 });

function draftOf(schema: Record<string, unknown>): Draft {
  const id = typeof schema.$schema === "string" ? schema.$schema : "";
  if (id.includes("2020-12")) return "2020";
  if (id.includes("2019-09")) return "2019";
  return "07";
}

/** Why a schema is too big or too deep to compile, if it is. */
function tooComplex(schema: unknown, text: string): string | undefined {
  if (text.length > MAX_SCHEMA_CHARS) {
    return `the schema is too large to check (${text.length} chars, limit ${MAX_SCHEMA_CHARS})`;
  }
  let nodes = 0;
  let deepest = 0;
  const stack: [unknown, number][] = [[schema, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [value, depth] = next;
    nodes++;
    deepest = Math.max(deepest, depth);
    if (depth > MAX_SCHEMA_DEPTH) {
      return `the schema nests too deep to check (more than ${MAX_SCHEMA_DEPTH} levels, the limit)`;
    }
    if (value !== null && typeof value === "object") {
      for (const child of Object.values(value)) stack.push([child, depth + 1]);
    }
  }
  return nodes > MAX_SCHEMA_NODES
    ? `the schema is too complex to check (${nodes} nodes, limit ${MAX_SCHEMA_NODES})`
    : undefined;
}

/**
 * A validator that never throws: a value the checks cannot take (a string too long for the regex engine, data
 * nested past the stack) fails validation with the reason, like any other problem.
 */
function guarded(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    try {
      const ok = validate(data);
      check.errors = validate.errors;
      return ok;
    } catch (error) {
      check.errors = [
        {
          instancePath: "",
          schemaPath: "#",
          keyword: "limit",
          params: {},
          message: `cannot be checked: ${errorMessage(error)}`,
        },
      ];
      return false;
    }
  }) as ValidateFunction;
  return Object.assign(check, { schema: validate.schema, schemaEnv: validate.schemaEnv });
}

/**
 * The validator of each schema object seen, so that a tool called a thousand times is stringified and hashed once:
 * tool definitions and skill schemas are replaced, never changed in place, when a server or a skill changes them.
 */
const bySchema = new WeakMap<object, ValidateFunction | Error>();

/** Compiles a schema, or returns why it cannot be used. */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction | Error {
  const known = bySchema.get(schema);
  if (known) return known;
  const result = compileText(schema);
  bySchema.set(schema, result);
  return result;
}

function compileText(schema: Record<string, unknown>): ValidateFunction | Error {
  const text = JSON.stringify(schema);
  // Keyed by a hash: a thousand cached 256 kB texts would hold 256 MB.
  const key = createHash("sha256").update(text).digest("hex");
  const cached = compiled.get(key);
  if (cached) return cached;
  let result: ValidateFunction | Error;
  const problem = tooComplex(schema, text);
  if (problem) {
    result = new Error(problem);
  } else {
    const { $schema: _ignored, $id: _id, ...rest } = schema;
    const ajv = engine(draftOf(schema));
    try {
      result = guarded(ajv.compile(rest));
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    } finally {
      // Ajv keeps every schema it compiled; the LRU above is the one cache.
      ajv.removeSchema(rest);
    }
  }
  compiled.set(key, result);
  return result;
}

/** One line per problem, naming the field and what it expects. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  const lines = (errors ?? []).map((e) => {
    const field = e.instancePath.replace(/^\//, "").replaceAll("/", ".");
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case "required":
        return `${field ? `${field}.` : ""}${String(params.missingProperty)}: required`;
      case "additionalProperties":
        return `${field ? `${field}.` : ""}${String(params.additionalProperty)}: unknown field (not in the schema)`;
      case "type":
        return `${field || "(arguments)"}: expected ${String(params.type)}`;
      case "enum":
        return `${field || "(arguments)"}: expected one of ${JSON.stringify(params.allowedValues)}`;
      default:
        return `${field || "(arguments)"}: ${e.message ?? e.keyword}`;
    }
  });
  return [...new Set(lines)];
}

/** Checks a value against a schema: [] when it fits, else one line per problem. */
export function validateAgainst(schema: Record<string, unknown>, value: unknown): string[] {
  const validate = compileSchema(schema);
  if (validate instanceof Error) return [];
  return validate(value) ? [] : describeErrors(validate.errors);
}
