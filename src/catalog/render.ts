/** Compact renderings of tool definitions, for a model's context and for people. */

type Schema = Record<string, unknown>;

function isSchema(value: unknown): value is Schema {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A JSON Schema as a short type: `string`, `number[]`, `"a" | "b"`, `object`. */
export function typeOf(schema: unknown): string {
  if (!isSchema(schema)) return "any";
  if (Array.isArray(schema.enum)) {
    const values = schema.enum.slice(0, 4).map((v) => JSON.stringify(v));
    return schema.enum.length > 4 ? `${values.join(" | ")} | …` : values.join(" | ");
  }
  if ("const" in schema) return JSON.stringify(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants)) return [...new Set(variants.map(typeOf))].join(" | ");
  const type = schema.type;
  if (Array.isArray(type)) return type.map((t) => typeOf({ ...schema, type: t })).join(" | ");
  if (type === "array") return `${wrap(typeOf(schema.items))}[]`;
  if (type === "integer") return "number";
  if (typeof type === "string") return type;
  if (isSchema(schema.properties)) return "object";
  return "any";
}

function wrap(type: string): string {
  return type.includes(" | ") ? `(${type})` : type;
}

/** Parameters on one line: `path: string, depth?: number`. */
export function paramsLine(inputSchema: Schema): string {
  const properties = isSchema(inputSchema.properties) ? inputSchema.properties : {};
  const required = new Set(Array.isArray(inputSchema.required) ? inputSchema.required.map(String) : []);
  return Object.entries(properties)
    .map(([key, spec]) => `${key}${required.has(key) ? "" : "?"}: ${typeOf(spec)}`)
    .join(", ");
}

/**
 * Cuts text at a word boundary, on one line, to at most `max` characters. The text is cut before the regex
 * runs (with room for the whitespace it collapses), so a huge text costs no more than a short one.
 */
export function clip(text: string, max: number): string {
  const flat = text
    .slice(0, 4 * max)
    .replace(/\s+/g, " ")
    .trim();
  if (flat.length <= max && text.length <= 4 * max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}
