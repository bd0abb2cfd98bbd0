/**
 * How figures read in the panel: accuracies as percentages, counts with k/M, times relative to now.
 */
import type { IMeasurement, IStudySummary } from './types';

/** 0.9123 → "91.2%"; null → "–". */
export function formatAccuracy(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? '–'
    : `${(value * 100).toFixed(1)}%`;
}

/** 12345 → "12.3k", 4.2e6 → "4.2M": counts (parameters, FLOPs) in three significant digits. */
export function formatCount(value: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k']
  ];
  for (const [scale, suffix] of units) {
    if (Math.abs(value) >= scale) {
      return `${Number((value / scale).toPrecision(3))}${suffix}`;
    }
  }
  return `${Number(value.toPrecision(3))}`;
}

/** A measurement with its unit: fractions as percentages, counts with k/M, the rest in 3 digits. */
export function formatMeasurement(measurement: IMeasurement): string {
  const { value, unit } = measurement;
  if (!Number.isFinite(value)) {
    return '–';
  }
  if (unit === 'fraction') {
    return formatAccuracy(value);
  }
  if (unit === 'count' || unit === 'FLOPs' || unit === 'MACs') {
    return unit === 'count'
      ? formatCount(value)
      : `${formatCount(value)} ${unit}`;
  }
  const digits = Number(value.toPrecision(3));
  return unit ? `${digits} ${unit}` : `${digits}`;
}

/** An objective value for a table: accuracies as percentages, others in 3 significant digits. */
export function formatObjective(metric: string, value: number): string {
  return metric.endsWith('accuracy')
    ? formatAccuracy(value)
    : `${Number(value.toPrecision(3))}`;
}

/** "12/30" trials, or "12" when the total is not known. */
export function formatTrials(trials: IStudySummary['trials']): string {
  return trials.total === null
    ? `${trials.done}`
    : `${trials.done}/${trials.total}`;
}

/** "3/4 feasible" of the evaluated trials. */
export function formatFeasible(feasible: IStudySummary['feasible']): string {
  return `${feasible.count}/${feasible.evaluated}`;
}

/** An epoch time relative to `nowMs`: "just now", "42 s ago", "5 min ago", "3 h ago", "4 d ago". */
export function formatAgo(epochSeconds: number | null, nowMs: number): string {
  if (epochSeconds === null) {
    return 'never';
  }
  const seconds = Math.max(0, Math.round(nowMs / 1000 - epochSeconds));
  if (seconds < 5) {
    return 'just now';
  }
  const steps: [number, string][] = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min']
  ];
  for (const [size, unit] of steps) {
    if (seconds >= size) {
      return `${Math.floor(seconds / size)} ${unit} ago`;
    }
  }
  return `${seconds} s ago`;
}

/**
 * A latency judged on the target device, said as the panel labels it: "9.1 ms, measured on pixel3" or
 * "8.2 ms, predicted for pixel3" (the profile's full label, with its number of measurements, is the
 * measurement's `source`); other sources as they are.
 */
export function formatDeviceLatency(
  measurement: IMeasurement,
  device: string
): string {
  const value = formatMeasurement(measurement);
  if (
    measurement.method === 'measured' &&
    measurement.source === `measured on ${device}`
  ) {
    return `${value}, measured on ${device}`;
  }
  if (measurement.source.startsWith(`predicted for ${device} `)) {
    return `${value}, predicted for ${device}`;
  }
  return `${value}, ${measurement.method}`;
}
