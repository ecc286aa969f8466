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
