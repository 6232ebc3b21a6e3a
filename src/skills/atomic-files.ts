import { randomBytes } from "node:crypto";
import { link, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { isAlive } from "../process-alive.js";

/** Temp files are `.<file>.<pid>.<random>.tmp` beside their target: dot-named, so no reader lists them. */
const TEMP = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;
/** A temp file of a process on another host sharing the folder is swept only once that old. */
const STALE_MS = 10 * 60_000;

function tempFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
}

async function writeTemp(file: string, data: string): Promise<string> {
  const temp = tempFor(file);
  const handle = await open(temp, "wx");
  try {
    await handle.writeFile(data);
    // On disk before it gets its name: a crash never leaves a named file half written.
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Replaces `file` at once: a reader sees the old content or the new, never a part. */
export async function replaceFile(file: string, data: string): Promise<void> {
  const temp = await writeTemp(file, data);
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Creates `file` whole, or returns false when it exists (another writer took that name first). */
export async function createFile(file: string, data: string): Promise<boolean> {
  const temp = await writeTemp(file, data);
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes the temp files a killed writer left in `dir`: those of a process that is gone, and any old enough that
 * their writer (maybe on another host) cannot still be using them. Returns how many it removed.
 */
export async function sweepTemps(dir: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  let swept = 0;
  for (const entry of entries) {
    const match = TEMP.exec(entry);
    if (!match) continue;
    const file = path.join(dir, entry);
    const pid = Number(match[1]);
    const abandoned =
      pid !== process.pid &&
      (!isAlive(pid) || Date.now() - (await stat(file).catch(() => ({ mtimeMs: 0 }))).mtimeMs > STALE_MS);
    if (!abandoned) continue;
    await rm(file, { force: true });
    swept++;
  }
  return swept;
}
