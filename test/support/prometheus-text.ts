// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: every line
// must be a HELP, a TYPE or a sample; names and label names must be valid; label values must be
// quoted with only \\, \" and \n escaped; values must be floats (or +Inf, -Inf, NaN); a family's
// HELP and TYPE come once, before its samples, and its samples are contiguous; a histogram's
// samples are <name>_bucket (with le, ending at +Inf and never decreasing), _sum and _count.
// Anything else throws, naming the line.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, where: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: "${text}" is not a float`);
  return Number(text);
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: a label without =`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name}'s value is not quoted`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const ch = text[j];
      if (ch === undefined) throw new Error(`${where}: label ${name}'s value is not closed`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = text[++j];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`${where}: bad escape \\${next ?? ""} in label ${name}`);
      } else if (ch === "\n") throw new Error(`${where}: raw newline in label ${name}`);
      else value += ch;
    }
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`${where}: expected , between labels`);
      i++;
    }
  }
  return labels;
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sample.endsWith(suffix)) continue;
    const base = families.get(sample.slice(0, -suffix.length));
    if (base && (base.type === "histogram" || base.type === "summary")) return base;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  text.split("\n").forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`${where}: a comment that is neither HELP nor TYPE: ${line}`);
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      if (kind === "HELP") {
        if (helps.has(name)) throw new Error(`${where}: HELP for ${name} twice`);
        helps.set(name, rest);
        return;
      }
      if (families.has(name)) throw new Error(`${where}: TYPE for ${name} twice`);
      if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
      if (current) closed.add(current.name);
      current = { name, type: rest as Family["type"], help: helps.get(name) ?? "", samples: [] };
      families.set(name, current);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample: ${line}`);
    const [, name, , labelText, valueText] = m as unknown as [string, string, string | undefined, string | undefined, string];
    const family = familyOf(name, families);
    if (!family) throw new Error(`${where}: sample ${name} before its TYPE`);
    if (family !== current || closed.has(family.name)) throw new Error(`${where}: sample ${name} not with the rest of ${family.name}`);
    const sample = { name, labels: labelText ? parseLabels(labelText, where) : {}, value: parseValue(valueText, where) };
    if (family.type === "histogram" && name === `${family.name}_bucket` && !("le" in sample.labels)) throw new Error(`${where}: a bucket without le`);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === "histogram") checkBuckets(family);
  return families;
}

function checkBuckets(family: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of family.samples.filter((x) => x.name.endsWith("_bucket"))) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, buckets] of series) {
    if (buckets.at(-1)?.labels.le !== "+Inf") throw new Error(`${family.name}${key}: the last bucket is not +Inf`);
    for (let i = 1; i < buckets.length; i++) if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family.name}${key}: buckets decrease`);
    const count = family.samples.find((s) => s.name === `${family.name}_count` && JSON.stringify(s.labels) === key);
    if (count?.value !== buckets.at(-1)!.value) throw new Error(`${family.name}${key}: _count is not the +Inf bucket`);
  }
}

/** The value of the sample with exactly these labels (undefined when absent). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(labels);
      if (keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
