// What the kernel knows about a process, read from /proc (Linux): CPU time and memory. Reading
// the server's counters from outside means the server needs no instrumentation at all.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond = null;

/** USER_HZ, the unit of the CPU times in /proc/<pid>/stat (100 on almost every Linux). */
export function clockTicksPerSecond() {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields after the command name; the name is in parentheses and may contain spaces. */
function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of the process (all its threads), in microseconds. */
export function cpuMicros(pid) {
  const fields = statFields(pid); // fields[0] is field 3 (state), so utime (14) is fields[11]
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicksPerSecond();
}

/** cutime + cstime: CPU time of the children this process has waited for, in microseconds. */
export function childrenCpuMicrosFromStatLine(line) {
  const fields = line.slice(line.lastIndexOf(')') + 2).trim().split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1e6) / clockTicksPerSecond();
}

/** Current (VmRSS) and peak (VmHWM, the high-water mark) resident memory, in bytes. */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kib('VmRSS') * 1024, peakRss: kib('VmHWM') * 1024 };
}

/**
 * Whole-machine CPU time from the first line of /proc/stat, in microseconds. `processes` is
 * user + nice + system: time spent in processes (ours and everyone else's), leaving out
 * interrupt and softirq time, which on loopback is mostly the kernel moving our own bytes.
 * `steal` is time the hypervisor gave to other guests. Compared with the server's and the
 * client's own CPU over the same window, it shows how much else was running.
 */
export function machineCpuMicros() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  const toMicros = (ticks) => (ticks * 1e6) / clockTicksPerSecond();
  return { processes: toMicros(user + nice + system), interrupts: toMicros(irq + softirq), steal: toMicros(steal) };
}
