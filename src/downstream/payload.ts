import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/**
 * What a tool's answer means as a value, as skills and probes see it: its structuredContent when present,
 * else its text parsed as JSON when it is JSON, else its text. Non-text blocks (images, resources) are
 * described by type and size rather than carried whole.
 */
export function payloadOf(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const blocks = result.content ?? [];
  const texts = blocks.filter((b) => b.type === "text").map((b) => b.text);
  if (texts.length === blocks.length && texts.length > 0) return parseMaybeJson(texts.join("\n"));
  if (blocks.length === 0) return null;
  return blocks.map((b) => {
    switch (b.type) {
      case "text":
        return parseMaybeJson(b.text);
      case "image":
      case "audio":
        return { type: b.type, mimeType: b.mimeType, base64Chars: b.data.length };
      case "resource":
        return {
          type: b.type,
          uri: b.resource.uri,
          mimeType: b.resource.mimeType,
          text: "text" in b.resource ? b.resource.text : undefined,
        };
      case "resource_link":
        return { type: b.type, uri: b.uri, name: b.name, mimeType: b.mimeType };
      default:
        return { type: (b as { type: string }).type };
    }
  });
}

function parseMaybeJson(text: string): unknown {
  const trimmed = text.trim();
  if (!/^[[{"]/.test(trimmed) && !/^(-?\d|true$|false$|null$)/.test(trimmed)) return text;
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/** The text of a tool's error answer, for messages. */
export function errorTextOf(result: CallToolResult): string {
  const text = (result.content ?? [])
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("\n")
    .trim();
  return text || "the tool reported an error without a message";
}
