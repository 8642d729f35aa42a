import { cpus, loadavg, release, totalmem, type } from 'node:os';
import type { Machine } from './results.js';

export function readMachine(chromium: string): Machine {
  const processors = cpus();
  return {
    cpu: processors[0]?.model.trim() ?? 'unknown CPU',
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    chromium,
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}
