export const devicesBench = async (_o: { out: (o: object) => void }): Promise<Record<string, unknown>> => ({});
