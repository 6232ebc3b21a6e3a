import { EventEmitter } from "node:events";
import type { Backend } from "./backend.js";

/** Pub/sub within this process, for the stores that no other host shares (LMDB's host watches its folders). */
export function localChannels(): Pick<Backend, "publish" | "subscribe"> {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  return {
    async publish(channel, message) {
      bus.emit(channel, message);
    },
    subscribe(channel, listener, onReady) {
      bus.on(channel, listener);
      onReady?.();
      return () => bus.off(channel, listener);
    },
  };
}
