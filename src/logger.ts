import { redact } from "./secrets.js";

/** Stdout belongs to the protocol; every log line goes to stderr through here, its secrets redacted. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** `text`: `[skillsmith] level: message`; `json`: one object a line (time, level, msg, pid) for log collectors. */
export type LogFormat = "text" | "json";

export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  format: LogFormat = "text",
): Logger {
  const line =
    format === "json"
      ? (l: LogLevel, message: string) =>
          JSON.stringify({ time: new Date().toISOString(), level: l, msg: message, pid: process.pid })
      : (l: LogLevel, message: string) => `[skillsmith] ${l}: ${message}`;
  const at = (l: LogLevel) => (message: string) => {
    if (rank[l] >= rank[level]) write(line(l, redact(message)));
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
