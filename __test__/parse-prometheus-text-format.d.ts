declare module 'parse-prometheus-text-format' {
  /** Families as the parser returns them: { name, help, type, metrics: [{ labels, value } | { buckets, count, sum }] }. */
  export default function parsePrometheusTextFormat(text: string): unknown[]
}
