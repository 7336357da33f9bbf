// @hocuspocus/server 1.1.3 ships types its package.json "exports" does not point to, so
// NodeNext resolution cannot find them. The launcher uses only this much of its API.
declare module "@hocuspocus/server" {
  interface HocuspocusInstance {
    listen(): Promise<unknown>;
    destroy(): Promise<void>;
  }
  export const Server: {
    configure(configuration: {
      port: number;
      address?: string;
      quiet?: boolean;
      getDocumentName?(data: { documentName: string; request: { url?: string } }): string | Promise<string>;
    }): HocuspocusInstance;
  };
}
