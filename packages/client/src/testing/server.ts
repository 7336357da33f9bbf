import { startRefServer, type TestServer } from "./ref-server.js";

export type { TestServer } from "./ref-server.js";

/** The sync server the client tests run against. */
export const startTestServer = async (): Promise<TestServer> => {
  const s = await startRefServer();
  await s.start();
  return s;
};
