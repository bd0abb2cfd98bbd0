import { describe, expect, it } from 'vitest';

import {
  formatAccuracy,
  formatAgo,
  formatCount,
  formatDeviceLatency,
  formatFeasible,
  formatMeasurement,
  formatObjective,
  formatTrials
} from '../src/format';

describe('format', () => {
  it('shows accuracies as percentages', () => {
    expect(formatAccuracy(0.91234)).toBe('91.2%');
    expect(formatAccuracy(1)).toBe('100.0%');
    expect(formatAccuracy(null)).toBe('–');
    expect(formatAccuracy(Number.NaN)).toBe('–');
  });

  it('shows counts in three significant digits with a suffix', () => {
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12345)).toBe('12.3k');
    expect(formatCount(4_200_000)).toBe('4.2M');
    expect(formatCount(1.5e9)).toBe('1.5G');
  });

  it('shows measurements with their units', () => {
    const m = (value: number, unit: string) => ({
      value,
      unit,
      method: 'measured',
      source: 'test'
    });
    expect(formatMeasurement(m(1.23456, 'ms'))).toBe('1.23 ms');
    expect(formatMeasurement(m(0.875, 'fraction'))).toBe('87.5%');
    expect(formatMeasurement(m(20480, 'count'))).toBe('20.5k');
    expect(formatMeasurement(m(3.1e6, 'FLOPs'))).toBe('3.1M FLOPs');
    expect(formatMeasurement(m(2, ''))).toBe('2');
  });

  it('labels a latency on the target device measured there or predicted for it', () => {
    const latency = (value: number, method: string, source: string) => ({
      value,
      unit: 'ms',
      method,
      source
    });
    expect(
      formatDeviceLatency(
        latency(9.123, 'measured', 'measured on pixel3'),
        'pixel3'
      )
    ).toBe('9.12 ms, measured on pixel3');
    const predicted = 'predicted for pixel3 from 15 measurements';
    expect(
      formatDeviceLatency(latency(8.2, 'predicted', predicted), 'pixel3')
    ).toBe('8.2 ms, predicted for pixel3');
    expect(
      // this machine's timer, in a study of another device: not called either
      formatDeviceLatency(
        latency(1, 'measured', 'torch.utils.benchmark'),
        'pixel3'
      )
    ).toBe('1 ms, measured');
    expect(
      // a device whose name begins with the other's
      formatDeviceLatency(
        latency(2, 'predicted', 'predicted for pixel3a from 10 measurements'),
        'pixel3'
      )
    ).toBe('2 ms, predicted');
  });

  it('shows objective values by metric', () => {
    expect(formatObjective('accuracy', 0.5)).toBe('50.0%');
    expect(formatObjective('test_accuracy', 0.25)).toBe('25.0%');
    expect(formatObjective('latency_ms', 1.23456)).toBe('1.23');
  });

  it('shows trial and feasibility counts', () => {
    expect(formatTrials({ done: 3, total: 30, running: 1 })).toBe('3/30');
    expect(formatTrials({ done: 3, total: null, running: 0 })).toBe('3');
    expect(formatFeasible({ count: 2, evaluated: 5 })).toBe('2/5');
  });

  it('shows times relative to now', () => {
    const now = 1_000_000 * 1000;
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo(1_000_000 - 2, now)).toBe('just now');
    expect(formatAgo(1_000_000 + 3, now)).toBe('just now'); // a clock slightly ahead
    expect(formatAgo(1_000_000 - 42, now)).toBe('42 s ago');
    expect(formatAgo(1_000_000 - 300, now)).toBe('5 min ago');
    expect(formatAgo(1_000_000 - 3 * 3600, now)).toBe('3 h ago');
    expect(formatAgo(1_000_000 - 4 * 86400, now)).toBe('4 d ago');
  });
});
