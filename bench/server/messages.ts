// The IPC messages between the bench orchestrator and its client worker processes.

export interface LoadPlan {
  /** Base URL handed to the stock client; it connects to `${url}/${room}`. */
  readonly url: string;
  /** The clients this worker runs: a global index and the room it writes to. */
  readonly clients: readonly { readonly index: number; readonly room: string }[];
  readonly clientsPerRoom: number;
  readonly entriesPerClient: number;
  readonly intervalMs: number;
  /** Each gap is intervalMs ± jitterMs (uniform). */
  readonly jitterMs: number;
  readonly connectTimeoutMs: number;
  /** How long to wait for full delivery after this worker's last append. */
  readonly deliveryTimeoutMs: number;
}

export type ToWorker =
  | { readonly type: "plan"; readonly plan: LoadPlan }
  /** Start appending at this wall-clock time (ms since the epoch, as performance.timeOrigin + now()). */
  | { readonly type: "go"; readonly at: number }
  | { readonly type: "stop" };

export interface WorkerResult {
  /** Receive time − send time (ms) of every (entry, receiving client) pair this worker saw. */
  readonly latenciesMs: number[];
  /** Entries appended by this worker's clients. */
  readonly sent: number;
  /** (entry, receiver) pairs expected by this worker's clients: clients × (clientsPerRoom − 1) × entries. */
  readonly expected: number;
  /** Clients that saw every entry of their room before the timeout. */
  readonly completeClients: number;
  /** WebSocket closes seen by the clients during the load, by close code (e.g. 4422 from a validator). */
  readonly closes: Record<string, number>;
  /** Append calls that threw (should be none). */
  readonly appendErrors: string[];
  /** CPU seconds this worker process used from the start instant until delivery. */
  readonly cpuS: number;
  /** p99 of this worker's event-loop delay during the load (ms): high means the clients were saturated. */
  readonly loopDelayP99Ms: number;
}

export type FromWorker =
  | { readonly type: "ready"; readonly connectMs: number }
  | { readonly type: "done"; readonly result: WorkerResult }
  | { readonly type: "error"; readonly message: string };
