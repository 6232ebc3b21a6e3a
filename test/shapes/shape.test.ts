import { describe, expect, it } from "vitest";
import { trimSample } from "../../src/shapes/sample.js";
import {
  hasUnseenParts,
  isEmptyValue,
  mergeShapes,
  renderShape,
  sameShape,
  shapeOf,
  shapeOfSchema,
  shapeSchema,
} from "../../src/shapes/shape.js";
import { textFormat } from "../../src/shapes/text-format.js";

const oneLine = (value: unknown) => renderShape(shapeOf(value));

describe("shape inference", () => {
  it("renders primitives, formats and nested objects", () => {
    expect(oneLine({ id: 1, name: "a", ok: true, none: null })).toBe(
      "{ id: number; name: string; ok: boolean; none: null; }",
    );
    expect(oneLine({ at: "2026-11-25T10:00:00Z", link: "https://x.y/z", who: "a@b.co" })).toBe(
      "{ at: string /* date-time */; link: string /* url */; who: string /* email */; }",
    );
    expect(oneLine({ a: { b: { c: [1, 2] } } })).toBe("{ a: { b: { c: number[] /* 2 items */; }; }; }");
  });

  it("merges heterogeneous array items: keys in only some items become optional", () => {
    const shape = shapeOf([
      { id: 1, name: "a", tags: ["x"] },
      { id: 2, size: 10 },
      { id: 3, name: "c", size: 5 },
    ]);
    expect(renderShape(shape)).toBe(
      "{ id: number; name?: string; tags?: string[] /* 1 items */; size?: number; }[] /* 3 items */",
    );
  });

  it("keeps unions of different kinds, and merges same-kind members", () => {
    expect(oneLine([1, "two", { three: 3 }, 4, null])).toBe(
      "(number | string | { three: number; } | null)[] /* 5 items */",
    );
    const merged = mergeShapes(shapeOf({ v: 1 }), shapeOf({ v: "one", w: true }));
    expect(renderShape(merged)).toBe("{ v: number | string; w?: boolean; }");
  });

  it("merges across observations, widening array lengths", () => {
    const a = shapeOf({ items: [{ id: 1 }] });
    const b = shapeOf({ items: [{ id: 2, extra: "x" }, { id: 3 }, { id: 4 }] });
    expect(renderShape(mergeShapes(a, b))).toBe(
      "{ items: { id: number; extra?: string; }[] /* 1-3 items */; }",
    );
    // An empty array teaches nothing about items: the other side's item shape stands.
    expect(renderShape(mergeShapes(shapeOf([]), shapeOf(["a"])))).toBe("string[] /* 0-1 items */");
  });

  it("bounds depth and turns objects with very many keys into records", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(oneLine(deep)).toContain("unknown");
    expect(hasUnseenParts(shapeOf(deep))).toBe(true);
    const map = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`id${i}`, { n: i }]));
    expect(oneLine(map)).toBe("Record<string, { n: number; }> /* 60 keys */");
  });

  it("hints the layout of multi-line text", () => {
    expect(textFormat("[FILE] a.txt\n[DIR] b\n[FILE] c")).toBe(
      "lines of `[TAG] name` (tags seen: DIR, FILE)",
    );
    expect(textFormat("a,b,c\n1,2,3\n4,5,6")).toBe("CSV-like rows of 3 comma-separated columns");
    expect(textFormat("name: x\nsize: 3")).toBe("lines of `key: value`");
    expect(textFormat("just some\nprose here")).toBe("lines of text");
    expect(oneLine("line one\nline two")).toBe("string /* lines of text */");
  });

  it("says what JSON sent inside a string holds", () => {
    expect(oneLine({ content: '[{"name": "a.txt", "type": "file"}]' })).toBe(
      "{ content: string /* JSON text: { name: string; type: string; }[] (1 items) */; }",
    );
    expect(oneLine({ content: "{not json" })).toBe("{ content: string; }");
  });

  it("knows an empty answer, and parts that were never seen", () => {
    for (const empty of [null, "", "  ", [], {}]) expect(isEmptyValue(empty)).toBe(true);
    expect(isEmptyValue({ entities: [] })).toBe(false);
    expect(hasUnseenParts(shapeOf({ entities: [] }))).toBe(true);
    expect(hasUnseenParts(shapeOf({ entities: [{ name: "x" }] }))).toBe(false);
  });

  it("renders a declared JSON Schema the same way", () => {
    const declared = shapeOfSchema({
      type: "object",
      properties: { name: { type: "string" }, sizes: { type: "array", items: { type: "integer" } } },
      required: ["name"],
    });
    expect(renderShape(declared)).toBe("{ name: string; sizes?: number[]; }");
  });

  it("pretty-prints with indentation", () => {
    expect(renderShape(shapeOf({ a: 1, b: { c: "x" } }), 2)).toBe(
      "{\n  a: number;\n  b: {\n    c: string;\n  };\n}",
    );
  });
});

describe("keys that name members of Object.prototype", () => {
  const hostile = JSON.parse(
    '[{"__proto__": 1}, {"shape": 1}, {"constructor": "c", "toString": {"kind": 2}}]',
  );

  it("are fields like any other, merged across items", () => {
    expect(oneLine(hostile)).toBe(
      "{ __proto__?: number; shape?: number; constructor?: string; toString?: { kind: number; }; }[] /* 3 items */",
    );
    expect(oneLine(JSON.parse('{"__proto__": {"a": 1}}'))).toBe("{ __proto__: { a: number; }; }");
    expect(oneLine({ c: '{"__proto__": {"kind": "x"}}' })).toBe(
      "{ c: string /* JSON text: { __proto__: { kind: string; }; } */; }",
    );
    const declared = shapeOfSchema(
      JSON.parse('{"type": "object", "properties": {"__proto__": {"type": "string"}}}'),
    );
    expect(renderShape(declared)).toBe("{ __proto__?: string; }");
  });

  it("survive the store's schema and merge with what comes later", () => {
    const stored = shapeSchema.parse(JSON.parse(JSON.stringify(shapeOf(hostile))));
    expect(renderShape(stored)).toBe(oneLine(hostile));
    const later = mergeShapes(stored, shapeOf(JSON.parse('[{"hasOwnProperty": true, "__proto__": 2}]')));
    expect(renderShape(later)).toContain("__proto__?: number; shape?: number;");
    expect(renderShape(later)).toContain("hasOwnProperty?: boolean;");
  });

  it("stay in samples", () => {
    expect(JSON.stringify(trimSample(hostile).sample)).toBe(JSON.stringify(hostile));
  });
});

describe("sample trimming", () => {
  it("cuts long strings and arrays, and says so", () => {
    const { sample, truncated } = trimSample({ text: "x".repeat(1000), list: [1, 2, 3, 4, 5, 6] });
    expect(truncated).toBe(true);
    const s = sample as { text: string; list: unknown[] };
    expect(s.text.length).toBeLessThan(400);
    expect(s.text).toContain("700 more chars");
    expect(s.list).toEqual([1, 2, 3, "… 3 more items (6 in all)"]);
  });

  it("leaves small answers whole", () => {
    const value = { a: [1, 2], b: "short" };
    expect(trimSample(value)).toEqual({ sample: value, truncated: false });
  });

  it("tells a merge that taught nothing from one that did (sameShape)", () => {
    const first = shapeOf({ items: [{ id: 1, name: "a" }], next: null });
    expect(sameShape(first, mergeShapes(first, shapeOf({ items: [{ id: 2, name: "b" }], next: null })))).toBe(
      true,
    );
    expect(sameShape(first, mergeShapes(first, shapeOf({ items: [{ id: 2 }], next: null })))).toBe(false);
    expect(sameShape(first, mergeShapes(first, shapeOf({ items: [], next: "cursor" })))).toBe(false);
    expect(sameShape(shapeOf("2024-01-01"), shapeOf("plain"))).toBe(false);
    expect(sameShape(shapeOf({ a: 1, b: "x" }), shapeOf({ b: "y", a: 2 }))).toBe(true);
    expect(sameShape(shapeOf({ a: 1 }), shapeOf({ a: 1, b: 2 }))).toBe(false);
  });
});
