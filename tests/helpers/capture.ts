import { vi } from "vitest";
import { main } from "../../pipeline/cli.js";

/** Runs a CLI call with stdout and stderr captured, for tests that check what a command prints. */
export async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [o, e] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

/** Runs `whp <args> --config <config> --quiet` in-process, capturing what it prints. */
export async function whpCli(configPath: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import("../../pipeline/cli.js");
  return capture(() => main(["node", "whp", ...args, "--config", configPath, "--quiet"]));
}

/** Runs `whp <args>` in-process with stdout and stderr silenced and returned (for tests that need the exit code and the words). */
export async function cli(...args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    const code = await main(["node", "whp", ...args]);
    return { code, stderr: err.mock.calls.map((c) => String(c[0])).join(""), stdout: out.mock.calls.map((c) => String(c[0])).join("") };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}
