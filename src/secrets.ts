/**
 * Values that came into mcp.json from the environment (`${TOKEN}`): tokens in URLs, headers, args, env.
 * They are replaced by `***` wherever text leaves the gateway: log lines, `skillsmith doctor`, and every
 * error a client can read. The set is process-wide because some of those boundaries never see the config
 * (the logger exists before mcp.json is read; an error result is built far from it).
 */

/** Shorter values ("1", "true") would turn every text into asterisks without hiding anything. */
export const MIN_SECRET_CHARS = 4;

const secrets = new Set<string>();
let pattern: RegExp | undefined;

export function rememberSecrets(values: Iterable<string>): void {
  for (const value of values) {
    if (value.length >= MIN_SECRET_CHARS && !secrets.has(value)) {
      secrets.add(value);
      pattern = undefined;
    }
  }
}

function secretsPattern(): RegExp {
  if (!pattern) {
    // Longest first, so a secret that contains another is hidden whole.
    const alternatives = [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    pattern = new RegExp(alternatives.join("|"), "g");
  }
  return pattern;
}

export function redact(text: string): string {
  return secrets.size === 0 ? text : text.replace(secretsPattern(), "***");
}

/** A copy of a JSON value with every string in it (keys too) redacted. */
export function redactDeep(value: unknown): unknown {
  if (secrets.size === 0) return value;
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) copy[redact(k)] = redactDeep(v);
    return copy;
  }
  return value;
}
