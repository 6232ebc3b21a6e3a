import { mkdir } from "node:fs/promises";
import path from "node:path";
import KeyvRedis from "@keyv/redis";
import Keyv from "keyv";
import { KeyvFile } from "keyv-file";
import writeFileAtomic from "write-file-atomic";
import { errorMessage, SkillsmithError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";

/**
 * Where Skillsmith keeps what it learns (observed shapes, probe cache, run records).
 * `file:<dir>` keeps one JSON file per namespace (the embedded default); `redis://…` lets several
 * gateway instances share state; `memory:` forgets everything on exit (tests, throwaway runs).
 */
export interface StateStore {
  namespace<T>(name: string): Keyv<T>;
  close(): Promise<void>;
}

/** The parts of keyv-file's internals that the atomic save below replaces (keyv-file 5.x). */
interface KeyvFileInternals {
  opts: { filename: string; serialize(data: unknown): string };
  _data: Map<string, unknown>;
  _lastExpire: number;
  _savePromise?: Promise<void>;
  saveToDisk(): Promise<void>;
}

/**
 * keyv-file saves with a plain writeFile, so a crash mid-write would lose the whole file;
 * its batched save goes through write-file-atomic instead, and disconnect waits for the write in flight.
 */
function atomicKeyvFile(filename: string): KeyvFile {
  const file = new KeyvFile({ filename, writeDelay: 20 });
  const internals = file as unknown as KeyvFileInternals;
  internals.saveToDisk = async () => {
    const data = internals.opts.serialize({ cache: [...internals._data], lastExpire: internals._lastExpire });
    await mkdir(path.dirname(filename), { recursive: true });
    await writeFileAtomic(filename, data);
  };
  file.disconnect = async () => {
    await internals._savePromise;
  };
  return file;
}

export function createStateStore(url: string, logger: Logger = silentLogger): StateStore {
  let make: <T>(name: string) => Keyv<T>;
  if (url.startsWith("file:")) {
    const dir = url.slice("file:".length);
    make = <T>(name: string) =>
      new Keyv<T>({ store: atomicKeyvFile(path.join(dir, `${name}.json`)), namespace: name });
  } else if (url.startsWith("redis://") || url.startsWith("rediss://")) {
    make = <T>(name: string) => new Keyv<T>({ store: new KeyvRedis(url), namespace: `skillsmith:${name}` });
  } else if (url.startsWith("memory:")) {
    make = <T>(name: string) => new Keyv<T>({ namespace: name });
  } else {
    throw new SkillsmithError(
      "CONFIG_INVALID",
      `Unknown store "${url}": use file:<dir>, redis://host:port or memory:`,
      {
        store: url,
      },
    );
  }
  const namespaces = new Map<string, Keyv>();
  return {
    namespace<T>(name: string) {
      let keyv = namespaces.get(name);
      if (!keyv) {
        keyv = make<unknown>(name);
        keyv.on("error", (error: unknown) => logger.warn(`store ${url} (${name}): ${errorMessage(error)}`));
        namespaces.set(name, keyv);
      }
      return keyv as Keyv<T>;
    },
    async close() {
      await Promise.all(
        [...namespaces.values()].map((k) =>
          k
            .disconnect()
            .catch((error: unknown) => logger.warn(`store ${url}: closing: ${errorMessage(error)}`)),
        ),
      );
    },
  };
}
