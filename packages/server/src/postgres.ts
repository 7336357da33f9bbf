// @ctxsync/server/postgres: the store for more than one machine (node-postgres).
export { createPostgresStore } from "./storage/postgres.js";
export type { PostgresStoreOptions } from "./storage/postgres.js";
