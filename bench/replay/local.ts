export const localBench = async (_o: { seed: number; out: (o: object) => void }): Promise<Record<string, unknown>> => ({});
