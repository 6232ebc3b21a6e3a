import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { LRUCache } from "lru-cache";

/**
 * JSON Schema validation of untrusted schemas (downstream tool definitions, skill inputs).
 * No `loadSchema` is given, so a remote `$ref` is never fetched: it fails to compile and is reported.
 * Schemas are bounded in size before compiling, and compiled validators are cached by their text.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const MAX_SCHEMA_CHARS = 256_000;

type Draft = "07" | "2019" | "2020";

function makeAjv(draft: Draft): Ajv {
  const options = { allErrors: true, strict: false, logger: false, validateSchema: false } as const;
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

/** Compiles a schema, or returns why it cannot be used. */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction | Error {
  const text = JSON.stringify(schema);
  const cached = compiled.get(text);
  if (cached) return cached;
  let result: ValidateFunction | Error;
  if (text.length > MAX_SCHEMA_CHARS) {
    result = new Error(`the schema is too large to check (${text.length} chars, limit ${MAX_SCHEMA_CHARS})`);
  } else {
    const { $schema: _ignored, $id: _id, ...rest } = schema;
    try {
      result = engine(draftOf(schema)).compile(rest);
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
  }
  compiled.set(text, result);
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
