import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import { z } from "zod";
import { createInFlight } from "../async.js";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Catalog } from "./catalog.js";
import { type ToolRecord, toolRecordSchema } from "./tool-record.js";

const snapshotSchema = z.object({
  server: z.string(),
  savedAt: z.string(),
  tools: z.array(toolRecordSchema),
});

/** A snapshot file as written: the server's tools when it was last listed. */
export type Snapshot = z.infer<typeof snapshotSchema>;

export interface Snapshots {
  /** Puts each server's last snapshot in the catalog before it connects, so search answers at once. */
  restore(servers: string[]): Promise<void>;
  /** A fresh listing: the catalog takes it, and the server's snapshot is rewritten (in the background) when it changed. */
  record(server: string, records: ToolRecord[]): void;
  /** Waits for snapshot writes in flight. */
  flush(): Promise<void>;
}

function sameTools(a: ToolRecord[] | undefined, b: ToolRecord[]): boolean {
  if (!a || a.length !== b.length) return false;
  const hashes = new Set(a.map((r) => `${r.name}#${r.hash}`));
  return b.every((r) => hashes.has(`${r.name}#${r.hash}`));
}

/** One JSON file per server under `dir`, written atomically, read back through zod. */
export function createSnapshots(dir: string, catalog: Catalog, logger: Logger): Snapshots {
  const file = (server: string) => path.join(dir, `${server}.json`);
  /** What each server's snapshot file holds now. */
  const saved = new Map<string, ToolRecord[]>();
  const writes = createInFlight();

  async function load(server: string): Promise<ToolRecord[] | undefined> {
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
  }

  async function save(server: string, tools: ToolRecord[]): Promise<void> {
    await mkdir(dir, { recursive: true });
    const snapshot = { server, savedAt: new Date().toISOString(), tools };
    await writeFileAtomic(file(server), `${JSON.stringify(snapshot, null, 2)}\n`);
  }

  return {
    async restore(servers) {
      await Promise.all(
        servers.map(async (server) => {
          const records = await load(server);
          // A listing that arrived while the file was read is newer than the file.
          if (records && catalog.tools(server).length === 0) {
            saved.set(server, records);
            catalog.setServerTools(server, records);
          }
        }),
      );
    },
    record(server, records) {
      catalog.setServerTools(server, records);
      if (sameTools(saved.get(server), records)) return;
      saved.set(server, records);
      void writes.track(
        save(server, records).catch((error: unknown) =>
          logger.warn(`could not write the snapshot of "${server}": ${errorMessage(error)}`),
        ),
      );
    },
    flush: () => writes.settled(),
  };
}
