/**
 * The Prometheus exporter (`pymem exporter`, issue 16), as a library: a {@link Scraper} reads every CPython process
 * on the host through worker processes under deadlines, {@link serve} publishes its metrics over HTTP,
 * {@link runTextfile} writes them for node_exporter, {@link exporterCommand} is the command. docs/exporter.md.
 * @module
 */
export { EXPORTER_HELP, exporterCommand, parseExporterArgs } from "./command.ts";
export type { ExporterOptions } from "./command.ts";
export { DEFAULT_TIMEOUT_MS, MAX_TIMER_MS, Scraper } from "./scrape.ts";
export type { ScrapeResult, ScraperOptions } from "./scrape.ts";
export { parentPid, processUsage } from "./self.ts";
export type { ProcessUsage } from "./self.ts";
export { askedScrapeSeconds, MAX_HEADER_BYTES, MAX_SCRAPE_SECONDS, parseListen, serve } from "./server.ts";
export type { ExporterServer } from "./server.ts";
export { runTextfile, TEXTFILE_NAME, writeTextfile } from "./textfile.ts";
export { CONTENT_TYPE, encode, MetricFamily, MetricSet, negotiate } from "./metrics.ts";
export type { Format, Labels, MetricType } from "./metrics.ts";
export { addPinnedByType, buildMetrics, FAMILY_NAMES, MAX_ERROR_SERIES, targetLabels } from "./families.ts";
export type { ExporterStats, TargetHealth, UnsupportedTarget } from "./families.ts";
export { ERROR_REASONS, UNSUPPORTED_REASONS } from "./collect.ts";
export type { ErrorReason, HeapFigures, TargetFigures, TargetResult, UnsupportedReason } from "./collect.ts";
export { cmdLabel, parseCgroup, parseStat } from "./discovery.ts";
