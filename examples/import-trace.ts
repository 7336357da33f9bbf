/**
 * Import an agent trace (JSONL) into a conversation, fork it, continue both lines offline on two
 * devices, sync, and print the branches. Usage:
 *   pnpm example [path/to/trace.jsonl]
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import * as Y from "yjs";
import { asDeviceId, exportMessages, importJsonl, openLog, reconcile } from "@ctxsync/core";

const defaultTrace = (): string => {
  const dir = resolve(import.meta.dirname, "../../shared/traces/tau-bench");
  if (!existsSync(dir)) throw new Error("no trace given and ../shared/traces is not there; pass a .jsonl file");
  return join(dir, readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort()[0]!);
};

const file = process.argv[2] ?? defaultTrace();
const laptop = openLog(new Y.Doc(), { device: asDeviceId("laptop") });
const entries = importJsonl(laptop, readFileSync(file, "utf8"), { provider: "openai", model: "imported" });
console.log(`imported ${entries.length} entries from ${file}`);

// A phone gets a copy, both go offline and continue main from the same head.
const phone = openLog(new Y.Doc(), { device: asDeviceId("phone") });
Y.applyUpdate(phone.doc, Y.encodeStateAsUpdate(laptop.doc));
laptop.append("main", { kind: "user", content: { text: "(laptop) one more thing..." } });
phone.append("main", { kind: "user", content: { text: "(phone) actually, cancel that" } });
// And someone forks at the third entry to try an alternative.
const alt = laptop.fork(entries[2]!.id, "try-alternative");
laptop.append(alt, { kind: "user", content: { text: "what if we did it differently?" } });

// Back online: exchange updates; the reconciler turns the concurrent continuation into a fork.
Y.applyUpdate(phone.doc, Y.encodeStateAsUpdate(laptop.doc, Y.encodeStateVector(phone.doc)));
Y.applyUpdate(laptop.doc, Y.encodeStateAsUpdate(phone.doc, Y.encodeStateVector(laptop.doc)));
reconcile(laptop);
reconcile(phone);
Y.applyUpdate(phone.doc, Y.encodeStateAsUpdate(laptop.doc, Y.encodeStateVector(phone.doc)));

for (const [name, b] of [...laptop.branches()].sort(([a], [c]) => a.localeCompare(c))) {
  const t = laptop.transcript(name);
  const last = t.at(-1)!;
  const text = "text" in last.content ? last.content.text : last.kind;
  console.log(
    `${name.padEnd(24)} ${String(t.length).padStart(4)} entries  head ${b.head}  h=${laptop.branchHash(name).slice(0, 12)}  last: ${JSON.stringify(text.slice(0, 50))}`,
  );
}
console.log(`replicas agree: ${laptop.branchHash("main") === phone.branchHash("main") && laptop.branches().size === phone.branches().size}`);
console.log(`exported main: ${exportMessages(laptop, "main").length} messages`);
