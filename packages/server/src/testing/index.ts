// @ctxsync/server/testing: one test infrastructure for every package that needs a real server
// (Node: a real HTTP + WebSocket server over SQLite in a temporary directory, restartable).
export { captureUpdate, emptyStep1, rawClient, startTestServer, waitFor } from "./harness.js";
export type { RawClient, TestServer, TestServerOptions } from "./harness.js";
export { storedDoc, storedJson, USAGE } from "./fixtures.js";
