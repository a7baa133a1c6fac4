import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the numbers were measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
}

export function machineInfo(): MachineInfo {
  const kernel = (() => {
    try {
      return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    } catch {
      return 'unknown';
    }
  })();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel,
  };
}

export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = loadavg();
  return [round2(one!), round2(five!), round2(fifteen!)];
}

/**
 * Waits until the 1-minute load average is below `maxLoad` (other work on this 2-core machine distorts the
 * numbers), at most `maxWaitSeconds`; returns the load it started with, the one it ended with, and the wait.
 */
export async function waitForQuietMachine(
  maxLoad: number,
  maxWaitSeconds: number,
  log: (message: string) => void,
): Promise<{ loadBefore: number; loadAfter: number; waitedSeconds: number; quiet: boolean }> {
  const started = Date.now();
  const loadBefore = loadAverage()[0];
  let load = loadBefore;
  let lastLog = 0;
  while (load >= maxLoad && (Date.now() - started) / 1000 < maxWaitSeconds) {
    if (Date.now() - lastLog > 30_000) {
      log(`waiting for the 1-minute load (${load}) to drop below ${maxLoad} (at most ${maxWaitSeconds} s)`);
      lastLog = Date.now();
    }
    await sleep(5000);
    load = loadAverage()[0];
  }
  return { loadBefore, loadAfter: load, waitedSeconds: Math.round((Date.now() - started) / 1000), quiet: load < maxLoad };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Busy and total CPU time of the whole machine, in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

interface ProcessTable {
  readonly children: Map<number, number[]>;
  /** utime + stime + cutime + cstime of each process, in ticks. */
  readonly ticks: Map<number, number>;
}

function processTable(): ProcessTable {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(entry);
      const parent = Number(fields[1]);
      // utime, stime, cutime, cstime (fields 14-17 of stat). cutime/cstime hold the time of children that ended
      // and were reaped (PostgreSQL backends that closed), so their time is not lost when they exit.
      ticks.set(pid, Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent)!.push(pid);
    } catch {
      // The process ended while we read.
    }
  }
  return { children, ticks };
}

function treeTicks(table: ProcessTable, root: number | undefined): number {
  if (root === undefined) return 0;
  let sum = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    sum += table.ticks.get(pid) ?? 0;
    stack.push(...(table.children.get(pid) ?? []));
  }
  return sum;
}

/** This process and its descendants, split: the load generator (this process), the service, and the rest (the embedded PostgreSQL). */
function benchTicks(servicePid: number | undefined): { all: number; generator: number; service: number } {
  const table = processTable();
  const all = treeTicks(table, process.pid);
  const usage = process.cpuUsage();
  return { all, generator: ((usage.user + usage.system) / 1e6) * CLOCK_TICKS, service: treeTicks(table, servicePid) };
}

export interface CpuUse {
  /** Wall-clock seconds of the measured span. */
  readonly seconds: number;
  /** Cores kept busy by this benchmark's processes (load generator, service, embedded PostgreSQL), on average. */
  readonly benchCores: number;
  /** ... of which the load generator (this process). */
  readonly generatorCores: number;
  /** ... of which the service process. */
  readonly serviceCores: number;
  /** ... of which the rest: the embedded PostgreSQL (with DATABASE_URL, PostgreSQL counts under otherCores). */
  readonly postgresCores: number;
  /** Cores kept busy by everything else on the machine (other engineers' tests, an external PostgreSQL). */
  readonly otherCores: number;
  readonly loadAverageAfter: number;
}

let currentServicePid: number | undefined;

/** Tells the CPU accounting which process is the service. */
export function setServicePid(pid: number | undefined): void {
  currentServicePid = pid;
}

/** Starts measuring CPU use; the returned function ends the span. */
export function measureCpu(): () => CpuUse {
  const startedAt = process.hrtime.bigint();
  const servicePid = currentServicePid;
  const machine = machineTicks();
  const before = benchTicks(servicePid);
  return () => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const machineBusy = (machineTicks().busy - machine.busy) / CLOCK_TICKS;
    const after = benchTicks(servicePid);
    const all = (after.all - before.all) / CLOCK_TICKS;
    const generator = (after.generator - before.generator) / CLOCK_TICKS;
    const service = (after.service - before.service) / CLOCK_TICKS;
    const cores = (value: number) => round2(Math.max(0, value) / seconds);
    return {
      seconds: round2(seconds),
      benchCores: cores(all),
      generatorCores: cores(generator),
      serviceCores: cores(service),
      postgresCores: cores(all - generator - service),
      otherCores: cores(machineBusy - all),
      loadAverageAfter: loadAverage()[0],
    };
  };
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
