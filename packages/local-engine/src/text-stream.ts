/**
 * Incremental text for streaming: how much of the decoded text can be sent now.
 * Holds back a trailing U+FFFD (a multi-byte character whose bytes have not all been
 * generated yet) and any tail that could still become a stop string, so a client never
 * sees half a character or the start of a stop sequence.
 */
export function stableTextLength(text: string, stops: readonly string[]): number {
  let end = text.length;
  while (end > 0 && text[end - 1] === "\uFFFD") end--;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, end); k > 0; k--) {
      if (text.slice(end - k, end) === stop.slice(0, k)) {
        end -= k;
        break;
      }
    }
  }
  return end;
}

/** Index of the earliest stop string in `text`, or -1. */
export function findStop(text: string, stops: readonly string[]): number {
  let at = -1;
  for (const stop of stops) {
    if (stop.length === 0) continue;
    const i = text.indexOf(stop);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}
