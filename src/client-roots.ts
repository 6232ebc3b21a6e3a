import type { Root } from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";

/** A client in front of the gateway that has roots to offer. */
export interface RootsSource {
  listRoots(): Promise<Root[]>;
}

/** The roots of every client in front of the gateway: what a downstream server gets on roots/list. */
export interface ClientRoots {
  /** Adds a client's roots; returns the way to withdraw them, when that client goes. */
  offer(source: RootsSource): () => void;
  /** The union of every client's roots, by URI; a client that fails or is slow to answer is left out. */
  list(): Promise<Root[]>;
}

const ROOTS_TIMEOUT_MS = 5000;

export function createClientRoots(logger: Logger, onChange: () => void): ClientRoots {
  const sources = new Set<RootsSource>();
  const ask = (source: RootsSource) =>
    new Promise<Root[]>((resolve) => {
      const timer = setTimeout(() => resolve([]), ROOTS_TIMEOUT_MS).unref();
      source.listRoots().then(
        (roots) => {
          clearTimeout(timer);
          resolve(roots);
        },
        (error: unknown) => {
          clearTimeout(timer);
          logger.debug(`a client's roots/list failed: ${errorMessage(error)}`);
          resolve([]);
        },
      );
    });
  return {
    offer(source) {
      sources.add(source);
      onChange();
      return () => {
        if (sources.delete(source)) onChange();
      };
    },
    async list() {
      const byUri = new Map<string, Root>();
      for (const root of (await Promise.all([...sources].map(ask))).flat()) {
        if (!byUri.has(root.uri)) byUri.set(root.uri, root);
      }
      return [...byUri.values()];
    },
  };
}
