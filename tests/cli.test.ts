import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capture } from "./helpers/capture.js";
import { parse } from "yaml";
import { buildCli, main } from "../pipeline/cli.js";
import { validateConfig } from "../pipeline/config.js";
import { STAGES } from "../pipeline/stages/index.js";


describe("the whp command", () => {
  it("has one sub-command per stage, plus run, init, check and inspect, each with help", () => {
    const names = buildCli().commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(["init", "run", "check", "inspect", ...STAGES.map((s) => s.name)]));
    const labels = buildCli().commands.find((c) => c.name() === "labels");
    expect(labels?.helpInformation()).toMatch(/--config <file>[\s\S]*--set <key=value>[\s\S]*--force/);
  });

  it("init writes a valid commented config and never overwrites one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "whp-init-"));
    const file = join(dir, "whp.config.yaml");
    expect((await capture(() => main(["node", "whp", "init", file]))).code).toBe(0);
    const text = await readFile(file, "utf8");
    expect(text).toMatch(/^# /m);
    expect(() => validateConfig(parse(text), file)).not.toThrow();
    const again = await capture(() => main(["node", "whp", "init", file]));
    expect(again.code).toBe(2);
    expect(again.err).toContain("already exists");
  });

  it("a missing config file is a user error that says how to make one", async () => {
    const r = await capture(() => main(["node", "whp", "run", "--config", "/nonexistent/whp.yaml"]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/config file not found[\s\S]*whp init/);
  });
});

describe("command-line mistakes", () => {
  it("an unknown option is a user error (exit 2), --help is not", async () => {
    expect((await capture(() => main(["node", "whp", "run", "--no-such-flag"]))).code).toBe(2);
    const help = await capture(() => main(["node", "whp", "--help"]));
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/translate/);
  });
});
