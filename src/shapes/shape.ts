import { z } from "zod";
import { textFormat } from "./text-format.js";

/**
 * The observed shape of a JSON value: a small type tree that merges across observations.
 * Arrays merge their items (a key missing from some items becomes optional), different kinds become
 * unions, depth is bounded, and objects with very many keys (maps keyed by ids) become records.
 */
export type Shape =
  | { kind: "string"; format?: string }
  | { kind: "number" }
  | { kind: "boolean" }
  | { kind: "null" }
  | { kind: "unknown" }
  /** `min`/`max`: lengths seen; absent when unknown (a declared schema). */
  | { kind: "array"; items?: Shape; min?: number; max?: number }
  /** `fields` has a null prototype: keys come from foreign data ("__proto__", "constructor"). */
  | { kind: "object"; fields: Fields }
  | { kind: "record"; values: Shape; min: number; max: number }
  | { kind: "union"; options: Shape[] };

export type Fields = Record<string, { shape: Shape; optional: boolean }>;

/** An empty field map that no key of the data can collide with. */
export function emptyFields(): Fields {
  return Object.create(null) as Fields;
}

/** A field by its own key only: never a member inherited from a prototype. */
function fieldOf(fields: Fields, key: string): Fields[string] | undefined {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

/**
 * zod's records drop a "__proto__" key, so fields are read as entries and rebuilt on a null prototype:
 * a shape read back from the store keeps every field it was stored with.
 */
const fieldsSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : value,
  z
    .array(z.tuple([z.string(), z.object({ shape: z.lazy(() => shapeSchema), optional: z.boolean() })]))
    .transform((entries) => {
      const fields = emptyFields();
      for (const [key, field] of entries) fields[key] = field;
      return fields;
    }),
);

export const shapeSchema: z.ZodType<Shape> = z.lazy(() =>
  z.union([
    z.object({ kind: z.literal("string"), format: z.string().optional() }),
    z.object({ kind: z.enum(["number", "boolean", "null", "unknown"]) }),
    z.object({
      kind: z.literal("array"),
      items: shapeSchema.optional(),
      min: z.number().optional(),
      max: z.number().optional(),
    }),
    z.object({
      kind: z.literal("object"),
      fields: fieldsSchema,
    }),
    z.object({ kind: z.literal("record"), values: shapeSchema, min: z.number(), max: z.number() }),
    z.object({ kind: z.literal("union"), options: z.array(shapeSchema) }),
  ]),
) as z.ZodType<Shape>;

const MAX_DEPTH = 8;
/** Past this many keys an object is a map keyed by data (ids, names), not a record type. */
const MAX_FIELDS = 40;
/** Items inspected per array: enough to see the variants, bounded for huge answers. */
const MAX_ITEMS = 200;

function stringFormat(value: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    return value.length > 10 ? "date-time" : "date";
  }
  if (/^(https?|file|s3|gs):\/\/\S+$/.test(value)) return "url";
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return "email";
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return "uuid";
  return undefined;
}

/** Servers often send JSON inside a string field ({content: "[{…}]"}): say what that JSON holds. */
function jsonTextFormat(value: string, depth: number): string | undefined {
  if (value.length > 1_000_000 || !/^\s*[[{]/.test(value)) return undefined;
  try {
    // Comments cannot nest: the inner shape's notes become parentheses.
    const inner = renderShape(shapeOf(JSON.parse(value), depth + 1)).replace(/\/\* (.*?) \*\//g, "($1)");
    return `JSON text: ${inner.length > 300 ? `${inner.slice(0, 299)}…` : inner}`;
  } catch {
    return undefined;
  }
}

export function shapeOf(value: unknown, depth = 0): Shape {
  if (value === null || value === undefined) return { kind: "null" };
  if (depth >= MAX_DEPTH) return { kind: "unknown" };
  switch (typeof value) {
    case "string": {
      const format =
        stringFormat(value) ??
        jsonTextFormat(value, depth) ??
        (value.includes("\n") ? textFormat(value) : undefined);
      return format ? { kind: "string", format } : { kind: "string" };
    }
    case "number":
    case "bigint":
      return { kind: "number" };
    case "boolean":
      return { kind: "boolean" };
    case "object":
      break;
    default:
      return { kind: "unknown" };
  }
  if (Array.isArray(value)) {
    let items: Shape | undefined;
    for (const item of value.slice(0, MAX_ITEMS)) {
      const s = shapeOf(item, depth + 1);
      items = items ? mergeShapes(items, s) : s;
    }
    return { kind: "array", ...(items && { items }), min: value.length, max: value.length };
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_FIELDS) {
    let values: Shape = { kind: "unknown" };
    entries.slice(0, MAX_ITEMS).forEach(([, v], i) => {
      const s = shapeOf(v, depth + 1);
      values = i === 0 ? s : mergeShapes(values, s);
    });
    return { kind: "record", values, min: entries.length, max: entries.length };
  }
  const fields = emptyFields();
  for (const [key, v] of entries) fields[key] = { shape: shapeOf(v, depth + 1), optional: false };
  return { kind: "object", fields };
}

function sameKind(a: Shape, b: Shape): boolean {
  return a.kind === b.kind;
}

function mergeObjects(a: Extract<Shape, { kind: "object" }>, b: Extract<Shape, { kind: "object" }>): Shape {
  const fields = emptyFields();
  for (const key of new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])) {
    const x = fieldOf(a.fields, key);
    const y = fieldOf(b.fields, key);
    if (x && y) fields[key] = { shape: mergeShapes(x.shape, y.shape), optional: x.optional || y.optional };
    else fields[key] = { shape: (x ?? y)?.shape ?? { kind: "unknown" }, optional: true };
  }
  return Object.keys(fields).length > MAX_FIELDS
    ? {
        kind: "record",
        values: mergeAll(Object.values(fields).map((f) => f.shape)),
        min: 0,
        max: Object.keys(fields).length,
      }
    : { kind: "object", fields };
}

function mergeAll(shapes: Shape[]): Shape {
  return shapes.reduce((acc, s) => mergeShapes(acc, s));
}

/** The least shape that covers both: what a later observation teaches about an earlier one. */
export function mergeShapes(a: Shape, b: Shape): Shape {
  if (a.kind === "unknown") return b;
  if (b.kind === "unknown") return a;
  if (a.kind === "union" || b.kind === "union") {
    const options = [...(a.kind === "union" ? a.options : [a])];
    for (const option of b.kind === "union" ? b.options : [b]) {
      const at = options.findIndex((o) => sameKind(o, option));
      if (at >= 0) options[at] = mergeShapes(options[at] as Shape, option);
      else options.push(option);
    }
    return { kind: "union", options };
  }
  if (!sameKind(a, b)) return { kind: "union", options: [a, b] };
  switch (a.kind) {
    case "string":
      return b.kind === "string" && a.format === b.format ? a : { kind: "string" };
    case "array": {
      const other = b as Extract<Shape, { kind: "array" }>;
      const items = a.items && other.items ? mergeShapes(a.items, other.items) : (a.items ?? other.items);
      const lengths =
        a.min !== undefined && a.max !== undefined && other.min !== undefined && other.max !== undefined
          ? { min: Math.min(a.min, other.min), max: Math.max(a.max, other.max) }
          : {};
      return { kind: "array", ...(items && { items }), ...lengths };
    }
    case "record": {
      const other = b as Extract<Shape, { kind: "record" }>;
      return {
        kind: "record",
        values: mergeShapes(a.values, other.values),
        min: Math.min(a.min, other.min),
        max: Math.max(a.max, other.max),
      };
    }
    case "object":
      return mergeObjects(a, b as Extract<Shape, { kind: "object" }>);
    default:
      return a;
  }
}

/** Whether two shapes are the same type tree (field order aside): a merge that taught nothing. */
export function sameShape(a: Shape, b: Shape): boolean {
  if (a === b) return true;
  switch (a.kind) {
    case "string":
      return b.kind === "string" && a.format === b.format;
    case "array":
      return (
        b.kind === "array" &&
        a.min === b.min &&
        a.max === b.max &&
        (a.items && b.items ? sameShape(a.items, b.items) : a.items === b.items)
      );
    case "record":
      return b.kind === "record" && a.min === b.min && a.max === b.max && sameShape(a.values, b.values);
    case "union":
      return (
        b.kind === "union" &&
        a.options.length === b.options.length &&
        a.options.every((option, i) => sameShape(option, b.options[i] as Shape))
      );
    case "object": {
      if (b.kind !== "object") return false;
      const keys = Object.keys(a.fields);
      if (keys.length !== Object.keys(b.fields).length) return false;
      return keys.every((key) => {
        const x = fieldOf(a.fields, key);
        const y = fieldOf(b.fields, key);
        return x !== undefined && y !== undefined && x.optional === y.optional && sameShape(x.shape, y.shape);
      });
    }
    default:
      return a.kind === b.kind;
  }
}

/** True when an answer holds nothing to learn a shape from. */
export function isEmptyValue(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** True when part of the shape could not be seen: an empty array, or an unknown past the depth bound. */
export function hasUnseenParts(shape: Shape): boolean {
  switch (shape.kind) {
    case "unknown":
      return true;
    case "array":
      return !shape.items || hasUnseenParts(shape.items);
    case "record":
      return hasUnseenParts(shape.values);
    case "union":
      return shape.options.some(hasUnseenParts);
    case "object":
      return Object.values(shape.fields).some((f) => hasUnseenParts(f.shape));
    default:
      return false;
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function count(min: number | undefined, max: number | undefined, noun: string): string {
  if (min === undefined || max === undefined) return "";
  return ` /* ${min === max ? min : `${min}-${max}`} ${noun} */`;
}

/**
 * Renders a shape as TypeScript-like text. `indent` undefined renders on one line
 * (for search summaries); a number pretty-prints with that indentation.
 */
export function renderShape(shape: Shape, indent?: number, level = 0): string {
  const pad = (n: number) => (indent === undefined ? "" : " ".repeat(indent * n));
  const nl = indent === undefined ? " " : "\n";
  switch (shape.kind) {
    case "string":
      return shape.format ? `string /* ${shape.format} */` : "string";
    case "number":
    case "boolean":
    case "null":
      return shape.kind;
    case "unknown":
      return "unknown";
    case "union":
      return shape.options.map((o) => renderShape(o, indent, level)).join(" | ");
    case "array": {
      if (!shape.items) return `never[]${count(shape.min, shape.max, "items")}`;
      const inner = renderShape(shape.items, indent, level);
      const wrapped = shape.items.kind === "union" ? `(${inner})` : inner;
      return `${wrapped}[]${count(shape.min, shape.max, "items")}`;
    }
    case "record":
      return `Record<string, ${renderShape(shape.values, indent, level)}>${count(shape.min, shape.max, "keys")}`;
    case "object": {
      const entries = Object.entries(shape.fields);
      if (entries.length === 0) return "{}";
      const lines = entries.map(([key, f]) => {
        const name = IDENT.test(key) ? key : JSON.stringify(key);
        return `${pad(level + 1)}${name}${f.optional ? "?" : ""}: ${renderShape(f.shape, indent, level + 1)};`;
      });
      return `{${nl}${lines.join(nl)}${nl}${pad(level)}}`;
    }
  }
}

/** The shape a JSON Schema declares, to show a declared outputSchema beside the observed shape. */
export function shapeOfSchema(schema: unknown, depth = 0): Shape {
  if (schema === null || typeof schema !== "object" || depth >= MAX_DEPTH) return { kind: "unknown" };
  const s = schema as Record<string, unknown>;
  const variants = s.anyOf ?? s.oneOf;
  if (Array.isArray(variants) && variants.length > 0) {
    return variants.map((v) => shapeOfSchema(v, depth + 1)).reduce((a, b) => mergeShapes(a, b));
  }
  const type = Array.isArray(s.type) ? s.type : [s.type];
  const shapes = type.map((t): Shape => {
    switch (t) {
      case "string":
        return typeof s.format === "string" ? { kind: "string", format: s.format } : { kind: "string" };
      case "number":
      case "integer":
        return { kind: "number" };
      case "boolean":
        return { kind: "boolean" };
      case "null":
        return { kind: "null" };
      case "array": {
        const items = shapeOfSchema(s.items, depth + 1);
        return { kind: "array", ...(items.kind !== "unknown" && { items }) };
      }
      default: {
        const properties = s.properties;
        if (t !== "object" && (properties === null || typeof properties !== "object"))
          return { kind: "unknown" };
        const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
        const fields = emptyFields();
        for (const [key, spec] of Object.entries((properties ?? {}) as Record<string, unknown>)) {
          fields[key] = { shape: shapeOfSchema(spec, depth + 1), optional: !required.has(key) };
        }
        return { kind: "object", fields };
      }
    }
  });
  return shapes.reduce((a, b) => mergeShapes(a, b));
}
