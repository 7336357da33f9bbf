// Statistics shared by every benchmark: one median, one percentile.

/** The median of `xs` (the mean of the two middle values when their number is even); NaN when empty. */
export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Nearest-rank percentile of ascending `sorted` (q in 0..1); NaN when empty. */
export const percentile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
};
