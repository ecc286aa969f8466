/**
 * No secret in anything whp writes. A proxy on 127.0.0.1 echoes the Authorization header in its error
 * bodies and a model repeats keys in its answers; every byte under the run folder (reports, raw
 * answers, caches, the review CSV) and everything printed (text and --log-format json) is searched.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { main } from "../pipeline/cli.js";
import { registerKeyVariables } from "../pipeline/commands/common.js";
import { redact, REDACTED } from "../pipeline/core/redact.js";
import { RAW_VERSION, RawAnswerLog } from "../pipeline/anchors/raw.js";
import { capture } from "./helpers/capture.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

const OPENAI_KEY = "sk-live-PLANTED0123456789abcdefXYZ";
const HF_KEY = "hf_PLANTEDabcdefghijklmnop0123";
const GATEWAY_KEY = "gw-PLANTED-98765-zyxwv"; // held in a variable whose name says nothing (apiKeyEnv)
const FOREIGN_BEARER = "Bearer eyJPLANTED0123456789.abcdef"; // never held by whp, shaped like a credential
const PLANTED = [OPENAI_KEY, HF_KEY, GATEWAY_KEY, FOREIGN_BEARER.split(" ")[1]];

let fx: Fixture;
let server: Server;
let base: string;
let requests = 0;
const saved = { OPENAI_API_KEY: process.env.OPENAI_API_KEY, HF_TOKEN: process.env.HF_TOKEN, MY_GATEWAY: process.env.MY_GATEWAY };

beforeAll(async () => {
  process.env.OPENAI_API_KEY = OPENAI_KEY;
  process.env.HF_TOKEN = HF_KEY;
  process.env.MY_GATEWAY = GATEWAY_KEY;
  server = createServer(async (req, res) => {
    for await (const _ of req);
    // Every other request fails with the header echoed; the rest answer with the keys in the text.
    if (requests++ % 2 === 0) {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: `upstream refused: authorization: ${req.headers.authorization}; gateway ${GATEWAY_KEY}` } }));
      return;
    }
    const content = JSON.stringify({ anchors: [{ term: "Tamsin", translations: [OPENAI_KEY, "Hannah"], category: "person" }, { term: "Bramwell", translations: [`${HF_KEY} ${FOREIGN_BEARER}`], category: "person" }] });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fx = await makeFixture({}, { forgetChars: 4000, generalChars: 4000 });
  const raw = parse(await readFile(fx.configPath, "utf8"));
  raw.llm = { provider: "openai", model: "m", baseUrl: base, attempts: 1, concurrency: 2, passageChars: 1500, passagesPerDocument: 2, reviewFile: "review.csv", autoApprove: true };
  raw.evalModels = { gw: { provider: "vllm", model: "x", urls: [base.replace("/v1", "")], apiKeyEnv: "MY_GATEWAY" } };
  await writeFile(fx.configPath, stringify(raw));
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise((r) => server.close(r));
  await rm(fx.dir, { recursive: true, force: true });
});

async function everyFile(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("secrets never written", () => {
  it("echoed keys in error bodies and keys in answers are redacted from stdout, stderr (text and json) and every file", async () => {
    const printed: string[] = [];
    for (const format of ["text", "json"]) {
      const r = await capture(() => main(["node", "whp", "anchors", "extract", "--config", fx.configPath, "--log-format", format, "--set", `seed=${format === "text" ? 1 : 2}`]));
      printed.push(r.out, r.err);
      expect(r.code).toBe(1); // some calls failed
      expect(r.out + r.err).toContain(REDACTED);
    }
    const c = await capture(() => main(["node", "whp", "anchors", "consolidate", "--config", fx.configPath]));
    printed.push(c.out, c.err);
    expect(c.code).toBe(0);
    // An error message carrying the key is redacted too.
    const thrown = await capture(() => main(["node", "whp", "check", "--config", join(fx.dir, `${OPENAI_KEY}.yaml`)]));
    printed.push(thrown.out, thrown.err);
    expect(thrown.err).toContain(REDACTED);

    const files = await everyFile(fx.dir);
    expect(files.some((f) => f.endsWith("raw-answers.jsonl"))).toBe(true);
    expect(files.some((f) => f.endsWith("extract-report.json"))).toBe(true);
    const raw = await readFile(join(fx.runDir, "anchors", "raw-answers.jsonl"), "utf8");
    expect(raw).toContain(REDACTED); // the answers were kept, with the keys taken out
    for (const key of PLANTED) {
      for (const text of printed) expect(text).not.toContain(key);
      for (const f of files) expect((await readFile(f)).includes(key), `${key} in ${f}`).toBe(false);
    }
  });

  it("an answer appended to the raw file as it arrives (what a killed run leaves) is redacted", async () => {
    const path = join(fx.dir, "appended.jsonl");
    await new RawAnswerLog(path).append({ version: RAW_VERSION, passageId: "p", requestHash: "h", promptHash: "", model: "m", answeredBy: "m", source: "llm:m", finishReason: "stop", format: "any", text: `key ${OPENAI_KEY}` });
    const text = await readFile(path, "utf8");
    expect(text).toContain(REDACTED);
    expect(text).not.toContain(OPENAI_KEY);
  });

  it("no module writes files except through io/artifacts.ts (where redaction happens)", async () => {
    const root = join(import.meta.dirname, "..", "pipeline");
    // io/cache-write.ts: the response caches' writer (no fsync per entry), redacting through core/redact.ts too.
    const writers = new Set([join("io", "artifacts.ts"), join("io", "cache-write.ts")]);
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".ts") && !writers.has(f));
    const direct: string[] = [];
    // copyFile in commands/pipeline-run.ts (whp init) copies the shipped template (no secret can be in it).
    for (const f of files) if (/\b(writeFile|appendFile|createWriteStream|writeFileSync|appendFileSync)\b/.test(await readFile(join(root, f), "utf8"))) direct.push(f);
    expect(direct).toEqual([]);
  });

  it("redact keeps ordinary text, takes out held values, apiKeyEnv variables and bearer-shaped tokens", () => {
    const env = { OPENAI_API_KEY: "abcdefgh12345", SHORT_TOKEN: "1", PATH: "/usr/bin:/bin" };
    expect(redact("the bearer of bad news said abcdefgh12345 at /usr/bin", env)).toBe(`the bearer of bad news said ${REDACTED} at /usr/bin`);
    expect(redact('{"k":"Bearer abcdefghijklmnop1234"}', {})).toBe(`{"k":"Bearer ${REDACTED}"}`);
    expect(redact("token boundaries of 1 tokens", { SHORT_TOKEN: "1" })).toBe("token boundaries of 1 tokens");
    expect(redact("x unguessable-value-42 y", { ODD_NAME: "unguessable-value-42" })).toBe("x unguessable-value-42 y");
    registerKeyVariables({ evalModels: { a: { apiKeyEnv: "ODD_NAME" } } });
    expect(redact("x unguessable-value-42 y", { ODD_NAME: "unguessable-value-42" })).toBe(`x ${REDACTED} y`);
  });
});
