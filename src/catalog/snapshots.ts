import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import { type ToolRecord, toolRecordSchema } from "./tool-record.js";

const snapshotSchema = z.object({
  server: z.string(),
  savedAt: z.string(),
  tools: z.array(toolRecordSchema),
});

export interface Snapshots {
  /** The records last seen for a server, or undefined when there is no usable snapshot. */
  load(server: string): Promise<ToolRecord[] | undefined>;
  save(server: string, tools: ToolRecord[]): Promise<void>;
}

/** One JSON file per server under `dir`, written atomically, read back through zod. */
export function createSnapshots(dir: string, logger: Logger): Snapshots {
  const file = (server: string) => path.join(dir, `${server}.json`);
  return {
    async load(server) {
      let text: string;
      try {
        text = await readFile(file(server), "utf8");
      } catch {
        return undefined;
      }
      try {
        const snapshot = snapshotSchema.parse(JSON.parse(text));
        return snapshot.server === server ? snapshot.tools : undefined;
      } catch (error) {
        logger.warn(`ignoring snapshot ${file(server)}: ${errorMessage(error).slice(0, 200)}`);
        return undefined;
      }
    },
    async save(server, tools) {
      await mkdir(dir, { recursive: true });
      const snapshot = { server, savedAt: new Date().toISOString(), tools };
      await writeFileAtomic(file(server), `${JSON.stringify(snapshot, null, 2)}\n`);
    },
  };
}
