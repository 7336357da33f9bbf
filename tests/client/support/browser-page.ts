// The page the browser test loads (bundled with esbuild): the client with IndexedDB storage
// through idb-keyval, no fakes. Query: ?sync=<ws url>&conv=<id>&db=<idb name>&device=<id>.
import { idbStorage, openSession, runStorageConformance, type Session } from "@ctxsync/client/browser";

const q = new URLSearchParams(location.search);
const list = document.getElementById("entries")!;
const statusEl = document.getElementById("status")!;
let session: Session | undefined;

const render = () => {
  if (!session) return;
  list.replaceChildren(
    ...session.transcript().map((e) => {
      const li = document.createElement("li");
      li.dataset.id = e.id;
      li.textContent = `${e.kind}: ${"text" in e.content ? e.content.text : ""}`;
      return li;
    }),
  );
  statusEl.textContent = session.status;
};

const api = {
  async conformance() {
    let i = 0;
    return runStorageConformance(() => {
      const dbName = `conformance-${Date.now()}-${i++}`;
      return { persistent: true, open: () => idbStorage({ dbName }) };
    });
  },
  async open() {
    session = await openSession({
      conversation: q.get("conv")!,
      url: q.get("sync")!,
      ...(q.get("token") ? { token: q.get("token")! } : {}),
      device: q.get("device") ?? "browser",
      storage: idbStorage({ dbName: q.get("db") ?? "ctxsync-test" }),
      maxBackoffMs: 300,
    });
    session.on("change", render);
    session.on("status", render);
    render();
    return session.transcript().length;
  },
  async append(text: string) {
    const e = await session!.appendUser(text);
    return e.id;
  },
  status: () => session!.status,
  ids: () => session!.transcript().map((e) => e.id),
  whenSynced: () => session!.whenSynced(20_000),
};
(window as unknown as { ctxsync: typeof api }).ctxsync = api;
document.body.dataset.ready = "1";
