// Shared bits of the peer launchers: argument parsing, URL routing, clean exit on SIGTERM.

export const parsePort = (argv: readonly string[]): number => {
  const i = argv.indexOf("--port");
  const port = Number(i >= 0 ? argv[i + 1] : NaN);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    console.error("usage: --port P (1..65535)");
    process.exit(2);
  }
  return port;
};

/** `/sync/<room>?…` → `<room>`; anything else → undefined. */
export const roomFromUrl = (url: string | undefined): string | undefined => {
  const path = (url ?? "").split("?")[0] ?? "";
  const m = /^\/sync\/(.+)$/.exec(path);
  return m ? decodeURIComponent(m[1]!) : undefined;
};

/** On SIGTERM/SIGINT: close, then exit 0 (the bench measures CPU and RSS from /proc before that). */
export const exitOnSignal = (close: () => void): void => {
  const stop = () => {
    close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
};
