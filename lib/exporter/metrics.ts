/**
 * The exporter's metrics model and its two encodings: the Prometheus text exposition format 0.0.4 and OpenMetrics
 * 1.0 text. A {@link MetricSet} is a list of families (name, type, help, unit) with their samples; it is built fresh
 * for every scrape and encoded once, so nothing here keeps state between scrapes.
 *
 * Names follow Prometheus conventions: base units (`_bytes`, `_seconds`), counters end in `_total` in samples.
 * OpenMetrics names a counter family without `_total`, adds `# UNIT` lines and ends with `# EOF`; everything else is
 * the same text.
 * @module
 */
import { printable } from "../report/printable.ts";

/** A family type that both formats share. Info metrics are gauges with the value 1 (valid in both formats). */
export type MetricType = "gauge" | "counter";

/** Label name → value. Empty values are left out of the encoding (Prometheus treats them as absent anyway). */
export type Labels = Record<string, string>;

/** One metric family: every sample shares its name (counters: name + `_total`), type, help and unit. */
export class MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The base unit the name ends with ("bytes", "seconds"), for the OpenMetrics `# UNIT` line; "" when none. */
  readonly unit: string;
  readonly samples: { labels: Labels; value: number }[] = [];

  constructor(name: string, type: MetricType, help: string, unit = "") {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new RangeError(`not a valid metric name: "${name}"`);
    if (type === "counter" && name.endsWith("_total")) {
      throw new RangeError(`counter family "${name}": give the name without _total`);
    }
    if (unit && !name.endsWith(`_${unit}`)) throw new RangeError(`metric "${name}" must end with its unit _${unit}`);
    this.name = name;
    this.type = type;
    this.help = help;
    this.unit = unit;
  }

  /** Add one sample. A value that is not a finite number is refused: the exporter never publishes NaN by accident. */
  add(labels: Labels, value: number): this {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new RangeError(`${this.name}: value must be a finite number, got ${value}`);
    }
    for (const k of Object.keys(labels)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith("__")) {
        throw new RangeError(`${this.name}: not a valid label name: "${k}"`);
      }
    }
    this.samples.push({ labels, value });
    return this;
  }

  /**
   * Add the `n` largest of `rows` as samples, each with `base` labels plus `{[key]: row.label}`: the way to publish
   * a per-type (or per-anything) breakdown with bounded cardinality. Ties are broken by label, so the set is stable.
   */
  addTopN(base: Labels, key: string, rows: readonly { label: string; value: number }[], n: number): this {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${this.name}: top N must be a whole number ≥ 0, got ${n}`);
    const top = [...rows].sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
      .slice(0, n);
    for (const r of top) this.add({ ...base, [key]: r.label }, r.value);
    return this;
  }
}

/** The families of one scrape, in the order they were created. */
export class MetricSet {
  readonly families: MetricFamily[] = [];
  readonly #byName = new Map<string, MetricFamily>();

  /** The family `name`, created on first use; a second call with another type or help is a programming error. */
  family(name: string, type: MetricType, help: string, unit = ""): MetricFamily {
    const known = this.#byName.get(name);
    if (known) {
      if (known.type !== type || known.help !== help || known.unit !== unit) {
        throw new RangeError(`metric "${name}" declared twice, differently`);
      }
      return known;
    }
    const f = new MetricFamily(name, type, help, unit);
    this.#byName.set(name, f);
    this.families.push(f);
    return f;
  }

  gauge(name: string, help: string, unit = ""): MetricFamily {
    return this.family(name, "gauge", help, unit);
  }

  counter(name: string, help: string, unit = ""): MetricFamily {
    return this.family(name, "counter", help, unit);
  }
}

/** The content types the exporter answers with. */
export const CONTENT_TYPE = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
} as const;

export type Format = keyof typeof CONTENT_TYPE;

/**
 * The format a scraper asked for in its Accept header: OpenMetrics when it lists `application/openmetrics-text`
 * with a quality above that of text/plain (Prometheus does, by default), else the text format 0.0.4.
 */
export function negotiate(accept: string | undefined): Format {
  if (!accept) return "prometheus";
  let om = -1, text = -1;
  for (const part of accept.split(",")) {
    const [type, ...params] = part.trim().split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === "application/openmetrics-text") {
      const v = params.find((p) => p.startsWith("version="))?.slice(8);
      if (v === undefined || v === "1.0.0") om = Math.max(om, q);
    } else if (type === "text/plain" || type === "*/*" || type === "text/*") {
      text = Math.max(text, q);
    }
  }
  return om > 0 && om >= text ? "openmetrics" : "prometheus";
}

// Label values (type names, process names) are shown as they are by curl, Grafana and the Prometheus UI: control
// and bidi characters other than the newline (which the format escapes itself) become visible escapes first.
const escapeLabel = (v: string): string =>
  printable(v, "\n").replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** A number as both formats want it: integers without exponent or fraction, others in shortest round-trip form. */
function formatValue(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toFixed(0);
  return String(v);
}

function labelText(labels: Labels): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) if (v !== "") parts.push(`${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Encode a set in the chosen format. Families without samples keep their HELP/TYPE lines (a valid, empty family). */
export function encode(set: MetricSet, format: Format): string {
  const om = format === "openmetrics";
  const out: string[] = [];
  for (const f of set.families) {
    const sampleName = f.type === "counter" ? `${f.name}_total` : f.name;
    const familyName = om ? f.name : sampleName;
    out.push(`# HELP ${familyName} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${familyName} ${f.type}`);
    if (om && f.unit) out.push(`# UNIT ${familyName} ${f.unit}`);
    for (const s of f.samples) out.push(`${sampleName}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
  if (om) out.push("# EOF");
  return out.join("\n") + "\n";
}
