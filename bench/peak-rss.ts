import { readFileSync } from "node:fs";

/**
 * This process's peak RSS in MB. On Linux, VmHWM of /proc/self/status: the high-water mark of this
 * program's own memory. Not getrusage's maxRSS there: Linux carries the pre-exec image's peak into
 * it (exec_mmap keeps the old mm's hiwater_rss), and a child forked from a bench process that holds
 * a 5 M-token corpus starts with the parent's pages counted, so maxRSS read 351-513 MB where VmHWM
 * reads the stage's own peak.
 */
export function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: getrusage below
  }
  return process.resourceUsage().maxRSS / 1024;
}
