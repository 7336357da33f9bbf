// The text of a bench entry carries who sent it, its sequence number and when it was sent:
// `bench c=<client> n=<seq> t=<ms since epoch, µs precision>`. All processes run on one
// machine, so performance.timeOrigin + performance.now() is comparable across them.

export interface Stamp {
  readonly client: number;
  readonly seq: number;
  readonly sentAt: number;
}

export const stampText = (client: number, seq: number, sentAt: number): string =>
  `bench c=${client} n=${seq} t=${sentAt.toFixed(3)}`;

const STAMP_RE = /^bench c=(\d+) n=(\d+) t=(\d+(?:\.\d+)?)$/;

export const parseStamp = (text: string): Stamp | undefined => {
  const m = STAMP_RE.exec(text);
  return m ? { client: Number(m[1]), seq: Number(m[2]), sentAt: Number(m[3]) } : undefined;
};
