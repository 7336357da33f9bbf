/**
 * A tiny Prometheus registry: counters, gauges (read at scrape time) and one histogram kind.
 * Enough for /metrics without a dependency; names follow Prometheus conventions.
 */
type Labels = Record<string, string>;
const labelText = (l: Labels) => {
  const keys = Object.keys(l);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${String(l[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
};

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}
export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export interface Metrics {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string, read: () => number): void;
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  /** Prometheus text exposition format 0.0.4. */
  render(): string;
}

export const createMetrics = (): Metrics => {
  const blocks: Array<() => string> = [];
  return {
    counter(name, help) {
      const values = new Map<string, number>();
      blocks.push(() => {
        const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} counter`];
        if (values.size === 0) lines.push(`${name} 0`);
        for (const [k, v] of values) lines.push(`${name}${k} ${v}`);
        return lines.join("\n");
      });
      return {
        inc: (labels = {}, by = 1) => {
          const k = labelText(labels);
          values.set(k, (values.get(k) ?? 0) + by);
        },
        get: (labels = {}) => values.get(labelText(labels)) ?? 0,
      };
    },
    gauge(name, help, read) {
      blocks.push(() => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${read()}`].join("\n"));
    },
    histogram(name, help, buckets) {
      const series = new Map<string, { counts: number[]; sum: number; count: number; labels: Labels }>();
      blocks.push(() => {
        const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
        for (const s of series.values()) {
          buckets.forEach((b, i) => lines.push(`${name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
          lines.push(`${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
          lines.push(`${name}_sum${labelText(s.labels)} ${s.sum}`, `${name}_count${labelText(s.labels)} ${s.count}`);
        }
        return lines.join("\n");
      });
      return {
        observe(value, labels = {}) {
          const k = labelText(labels);
          let s = series.get(k);
          if (!s) series.set(k, (s = { counts: buckets.map(() => 0), sum: 0, count: 0, labels }));
          buckets.forEach((b, i) => {
            if (value <= b) s!.counts[i]!++;
          });
          s.sum += value;
          s.count++;
        },
      };
    },
    render: () => blocks.map((b) => b()).join("\n") + "\n",
  };
};
