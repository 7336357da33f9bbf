import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onServer } from "./support/helpers.js";
import { startTestServer, type TestServer } from "@ctxsync/server/testing";

const CHROMIUM = "/usr/bin/chromium";
const here = dirname(fileURLToPath(import.meta.url));
const required = process.env.CTXSYNC_REQUIRE_SERVICES === "1";
const missing = !existsSync(CHROMIUM);
if (missing && !required) console.warn(`skipping browser tests: ${CHROMIUM} not found (apt-get install chromium)`);

const HTML = `<!doctype html><meta charset="utf-8"><title>ctxsync client</title>
<p>status: <span id="status">-</span></p><ul id="entries"></ul><script type="module" src="/page.js"></script>`;

describe.skipIf(missing && !required)("browser client (real Chromium, IndexedDB via idb-keyval)", () => {
  let browser: Browser;
  let web: Server;
  let origin: string;
  let sync: TestServer;

  beforeAll(async () => {
    if (missing) throw new Error(`CTXSYNC_REQUIRE_SERVICES=1 but ${CHROMIUM} is missing`);
    const bundle = await build({
      entryPoints: [join(here, "support", "browser-page.ts")],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["development"],
      write: false,
      logLevel: "silent",
    });
    const js = bundle.outputFiles[0]!.contents;
    web = createServer((req, res) => {
      if (req.url?.startsWith("/page.js")) res.writeHead(200, { "content-type": "text/javascript" }).end(js);
      else if (req.url === "/favicon.ico") res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "text/html" }).end(HTML);
    });
    await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    sync = await startTestServer({ secret: "test-secret" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await sync?.close();
    await new Promise<void>((r) => (web ? web.close(() => r()) : r()));
  });

  it("passes the ClientStorage conformance suite with idb-keyval in the page", async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/?conv=unused&sync=${encodeURIComponent(sync.wsUrl)}`);
    await page.waitForSelector("body[data-ready='1']");
    const results = await page.evaluate(() => (window as any).ctxsync.conformance());
    expect(results.length).toBeGreaterThan(5);
    for (const r of results) expect(r.error ?? "ok", r.name).toBe("ok");
    await page.close();
  });

  it("appends offline, survives a reload while still offline, then reconnects and syncs", async () => {
    const conv = `browser${Date.now().toString(36)}`;
    await sync.stop();
    const context = await browser.newContext();
    const page = await context.newPage();
    const url = `${origin}/?conv=${conv}&db=db-${conv}&device=tab1&sync=${encodeURIComponent(sync.wsUrl)}&token=${sync.token(conv)}`;
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']");
    expect(await page.evaluate(() => (window as any).ctxsync.open())).toBe(0);
    const ids: string[] = [];
    for (const text of ["offline one", "offline two", "offline three"]) ids.push(await page.evaluate((t) => (window as any).ctxsync.append(t), text));
    await page.waitForFunction(() => (window as any).ctxsync.status() === "offline");

    await page.reload();
    await page.waitForSelector("body[data-ready='1']");
    expect(await page.evaluate(() => (window as any).ctxsync.open())).toBe(3);
    await page.waitForSelector("#entries li:nth-child(3)");
    expect(await page.locator("#entries li").allTextContents()).toEqual(["user: offline one", "user: offline two", "user: offline three"]);
    expect(await page.evaluate(() => (window as any).ctxsync.status())).toBe("offline");

    await sync.start();
    await page.evaluate(() => (window as any).ctxsync.whenSynced());
    await page.waitForSelector("#status:text('synced')");
    expect((await onServer(sync, conv)).main.map((e) => e.id)).toEqual(ids);
    await context.close();
  });
});
