/** What a broken run limit says, the same whether the worker or the host caught it. */
import type { LimitName, RunLimits } from "./protocol.js";

const MB = 1024 * 1024;

/** What broke, and what to change: the setting in mcp.json (`skillsmith.sandbox.*`) or the code. */
function said(limit: LimitName, limits: RunLimits): string {
  switch (limit) {
    case "timeoutMs":
      return `the run took longer than its time limit of ${limits.timeoutMs} ms`;
    case "memoryBytes":
      return `the run used more than its memory limit of ${Math.round(limits.memoryBytes / MB)} MB (skillsmith.sandbox.memoryMb)`;
    case "maxCalls":
      return `the run made more than its limit of ${limits.maxCalls} tool calls (skillsmith.sandbox.maxCalls)`;
    case "maxResultBytes":
      return `the result is larger than its limit of ${limits.maxResultBytes} bytes (skillsmith.sandbox.maxResultBytes)`;
    case "maxStepBytes":
      return (
        `the run's step values came to more than ${limits.maxStepBytes} bytes of JSON; return less from step() ` +
        "(a step records its whole value), or raise skillsmith.sandbox.maxStepBytes"
      );
    case "maxLogBytes":
      return `the run logged more than ${limits.maxLogBytes} bytes; log less, or raise skillsmith.sandbox.maxLogBytes`;
    case "maxLogLines":
      return `the run called log() more than ${limits.maxLogLines} times; log less, or raise skillsmith.sandbox.maxLogLines`;
    case "maxCallBytes":
      return `one tool call's arguments or answer came to more than ${limits.maxCallBytes} bytes of JSON; ask for less (paging, filters), or raise skillsmith.sandbox.maxCallBytes`;
  }
}

export function limitMessage(limit: LimitName, limits: RunLimits, detail?: string): string {
  return `Limit ${limit} exceeded: ${said(limit, limits)}${detail ? ` (${detail})` : ""}.`;
}
