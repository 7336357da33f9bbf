export * from "./index.js";
export { idbStorage } from "./storage/idb-storage.js";
export type { IdbStorageOptions } from "./storage/idb-storage.js";
