import { type FSWatcher, watch } from "node:fs";
import { mkdir } from "node:fs/promises";
import { errorMessage } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Skills } from "./skills.js";

/**
 * Reloads the skills when their folder changes: a skill saved by another gateway instance sharing the
 * folder, or written by hand, becomes a tool here too without a restart.
 */
export async function watchSkills(dir: string, skills: Skills, logger: Logger): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, (_event, file) => {
      if (file && !String(file).endsWith(".json")) return;
      clearTimeout(timer);
      // A save ends by switching `<name>.json`; wait for a burst of saves to settle before reading.
      timer = setTimeout(() => {
        skills
          .load()
          .catch((error) => logger.warn(`could not reload skills from ${dir}: ${errorMessage(error)}`));
      }, 100);
    });
  } catch (error) {
    logger.warn(`not watching ${dir} for skills saved elsewhere: ${errorMessage(error)}`);
    return () => {};
  }
  watcher.unref();
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
