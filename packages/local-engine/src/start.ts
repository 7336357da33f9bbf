import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createEngine, type Engine, type EngineOptions } from "./engine.js";
import { createApp } from "./server.js";

/** Starts the engine and its HTTP server. `port: 0` picks a free port. */

export interface StartEngineOptions extends EngineOptions {
  port?: number;
  host?: string;
}

export interface RunningEngine {
  engine: Engine;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEngine(options: StartEngineOptions): Promise<RunningEngine> {
  const engine = await createEngine(options);
  const app = createApp(engine);
  const host = options.host ?? "127.0.0.1";
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 8080, hostname: host }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    engine,
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive client connections would otherwise hold close() open indefinitely.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await engine.close();
    },
  };
}
