// Where the numbers came from, saved with every result file: absolute numbers mean little
// without the machine, the Node version and the tool versions next to them.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { clockTicksPerSecond } from './proc-stats.mjs';

function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
  } catch {
    return null;
  }
}

export function describeMachine() {
  const cpus = os.cpus();
  return {
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg(),
    clockTicksPerSecond: clockTicksPerSecond(),
    node: process.version,
    v8: process.versions.v8,
    uWebSocketsJs: packageVersion('uWebSockets.js'),
    autocannon: packageVersion('autocannon'),
    ws: packageVersion('ws'),
  };
}

export function machineLine(machine) {
  return `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}`;
}
