import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";

/** Headers of a raw Streamable HTTP POST, as a client that takes either answer form sends them. */
export const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A raw initialize request, for tests that speak HTTP without the SDK's client. */
export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: "raw", version: "0" },
  },
};
