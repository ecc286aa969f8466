/**
 * The import structure of pipeline/, checked by dependency-cruiser's API over the real source files:
 * no import cycle anywhere (type-only imports count: a cycle of types is still two modules that
 * cannot be read apart), and core/ imports nothing of the pipeline outside core/ (it is the pure
 * layer every stage builds on) and reaches no file, socket or process (that is io/'s). A fixture tree shows the same rules do flag both kinds of edge, so
 * the check on the real tree cannot pass because it sees nothing.
 */
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { cruise, type ICruiseResult, type IFlattenedRuleSet } from "dependency-cruiser";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

const RULES: IFlattenedRuleSet = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    { name: "core-stays-pure", comment: "core/ is the pure layer: it may import only core/ and packages", severity: "error", from: { path: "^pipeline/core/" }, to: { path: "^pipeline/", pathNot: "^pipeline/core/" } },
    { name: "core-does-no-io", comment: "files, sockets and processes belong in io/ or next to their users, not in the pure layer", severity: "error", from: { path: "^pipeline/core/" }, to: { dependencyTypes: ["core"], path: "^(node:)?(fs|http|https|net|child_process|worker_threads|readline)(/|$)" } },
    // An import the cruiser cannot resolve is an edge it cannot check: fail rather than skip it.
    { name: "not-resolvable", severity: "error", from: { path: "^pipeline/" }, to: { couldNotResolve: true } },
  ],
};

/** Cruises `<baseDir>/pipeline` and returns the result with its rule violations. */
async function cruisePipeline(baseDir: string): Promise<ICruiseResult> {
  const res = await cruise(
    ["pipeline"],
    {
      baseDir,
      validate: true,
      ruleSet: RULES,
      // Type-only imports are edges too (they vanish from the compiled JS, not from the design).
      tsPreCompilationDeps: true,
      doNotFollow: { path: "node_modules" },
      enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "node", "default"] },
    },
  );
  return res.output as ICruiseResult;
}

/** "rule: from -> to (cycle a > b > a)", one line per violation, for a readable failure. */
const describeViolations = (r: ICruiseResult) =>
  r.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle?.length ? ` (cycle ${[v.from, ...v.cycle.map((c) => c.name)].join(" > ")})` : ""}`);

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts")).map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

describe("import structure of pipeline/", () => {
  it("has no import cycle, no import from core/ into the rest of the pipeline, and no I/O in core/", async () => {
    const r = await cruisePipeline(ROOT);
    expect(describeViolations(r)).toEqual([]);
    // Every source file was read, and the graph has the edges it should (not an empty pass).
    const cruised = r.modules.filter((m) => m.source.startsWith("pipeline/")).map((m) => m.source);
    expect(cruised.sort()).toEqual((await tsFiles(join(ROOT, "pipeline"))).sort());
    const labels = r.modules.find((m) => m.source === "pipeline/stages/labels.ts")!;
    expect(labels.dependencies.map((d) => d.resolved)).toContain("pipeline/core/combine.ts");
  });

  describe("the rules flag what they forbid (fixture tree)", () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("a cycle, including one made of type-only imports, core/ importing a stage, and core/ reading a file", async () => {
      dir = await mkdtemp(join(tmpdir(), "whp-arch-"));
      const files: Record<string, string> = {
        "pipeline/core/pure.ts": 'import { stageName } from "../stages/a.js";\nexport const pure = () => stageName;\n',
        "pipeline/stages/a.ts": 'import { pure } from "../core/pure.js";\nexport const stageName = "a";\nexport const usesPure = pure;\n',
        "pipeline/stages/b.ts": 'import type { C } from "./c.js";\nexport type B = { c?: C };\n',
        "pipeline/stages/c.ts": 'import type { B } from "./b.js";\nexport type C = { b?: B };\n',
        "pipeline/stages/fine.ts": 'import { pure } from "../core/pure.js";\nexport const fine = pure;\n',
        "pipeline/core/reads.ts": 'import { readFile } from "node:fs/promises";\nexport const read = readFile;\n',
        "pipeline/io/reads.ts": 'import { readFile } from "node:fs/promises";\nexport const read = readFile;\n',
      };
      for (const [path, text] of Object.entries(files)) {
        await mkdir(join(dir, path, ".."), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      const r = await cruisePipeline(dir);
      // A cycle is reported once, from whichever member the cruiser reached first: compare its members.
      const found = r.summary.violations.map((v) => (v.cycle?.length ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].slice(0, -1).sort().join(" ")}` : `${v.rule.name}: ${v.from} -> ${v.to}`)).sort();
      expect(found).toEqual([
        "core-does-no-io: pipeline/core/reads.ts -> fs/promises",
        "core-stays-pure: pipeline/core/pure.ts -> pipeline/stages/a.ts",
        "no-circular: pipeline/core/pure.ts pipeline/stages/a.ts",
        "no-circular: pipeline/stages/b.ts pipeline/stages/c.ts",
      ]);
    });
  });
});
