// @ctxsync/server/sqlite: the embedded default store (better-sqlite3; Node).
export { createSqliteStore } from "./storage/sqlite.js";
export type { SqliteStoreOptions } from "./storage/sqlite.js";
