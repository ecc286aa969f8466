/**
 * LLM-written probability prompts against an in-process server on 127.0.0.1 that speaks the OpenAI
 * chat-completions protocol, driven by the project's real chat client (the openai library).
 */
import type { Server } from "node:http";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { whpCli } from "./helpers/capture.js";
import { type ScriptedReply, startScriptedChatServer } from "./helpers/scripted-chat.js";
import { ModelTokenizer } from "../pipeline/io/tokenizer.js";
import { loadEvalTemplate } from "../pipeline/eval/judge.js";
import { askProbabilityPrompts, parseProbabilityAnswer, tagWrittenPrompts } from "../pipeline/eval/probability-llm.js";
import { ChatClient } from "../pipeline/llm/chat.js";
import { llmConfigSchema } from "../pipeline/llm/config.js";
import { makeFixture, type Fixture } from "./helpers/fixture.js";

type Reply = ScriptedReply;
type Body = { messages: { role: string; content: string }[] };

let server: Server;
let base = "";
const script: Reply[] = [];
const bodies: Body[] = [];

/** Without a script the server plays a plausible writer: per passage, a good prompt before the first
 * term it was given, a give-away, and a term that is not in the list. */
function smartReply(body: Body): Reply {
  const terms = (/<terms>\n([\s\S]*?)\n<\/terms>/.exec(body.messages[1].content)?.[1] ?? "").split("\n").filter(Boolean);
  const t = terms[0] ?? "Nobody";
  const n = body.messages[1].content.length;
  return { content: JSON.stringify({ prompts: [{ prompt: `On the ${n}th morning the letter came from`, term: t }, { prompt: `It was ${t} who`, term: t }, { prompt: "And then", term: "Bob" }] }) };
}

beforeAll(async () => {
  ({ server, base } = await startScriptedChatServer({ model: "writer", script, bodies, fallback: smartReply }));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  script.length = 0;
  bodies.length = 0;
});

const cfg = () => llmConfigSchema.parse({ provider: "openai", model: "writer", baseUrl: base, attempts: 3, timeoutMs: 5000, concurrency: 1 });
const DICT = [
  { term: "Tamsin", translations: ["Emma", "Lucy"] },
  { term: "Wendeline", translations: ["Margaret"] },
];

describe("parsing and tagging written probability prompts", () => {
  it("reads the asked JSON shape, or null", () => {
    expect(parseProbabilityAnswer('Sure: {"prompts": [{"prompt": "Her aunt was", "term": "Wendeline"}]}')).toEqual([{ prompt: "Her aunt was", term: "Wendeline" }]);
    expect(parseProbabilityAnswer('{"prompts": [{"prompt": "Her aunt was"}]}')).toBeNull();
    expect(parseProbabilityAnswer("no JSON here")).toBeNull();
    expect(parseProbabilityAnswer("{ broken")).toBeNull();
  });

  it("tags the term's first token after the text, and drops what is not forget-specific or not a term", async () => {
    const tok = await ModelTokenizer.load(resolve(import.meta.dirname, "..", "demo", "tokenizer.json"));
    const io = { encode: (t: string) => tok.encodeIds(t), prefix: tok.info.prefixSpecialIds };
    const text = "The girl at the window was";
    const textIds = await tok.encodeIds(text);
    const taken = new Set([[...io.prefix, ...(await tok.encodeIds("Already mined context"))].join(",")]);
    const answers = [
      {
        source: "a#0",
        prompts: [
          { prompt: `${text} `, term: "Tamsin" }, // trailing space trimmed
          { prompt: "Tamsin met", term: "Tamsin" }, // give-away
          { prompt: "The cat met", term: "Bob" }, // not a dictionary term
          { prompt: "Already mined context", term: "Wendeline" }, // duplicate of a mined context
          { prompt: text, term: "Wendeline" }, // same context written twice
        ],
      },
    ];
    const { prompts, stats } = await tagWrittenPrompts(answers, DICT, io, taken);
    const both = await tok.encodeIds(`${text} Tamsin`);
    expect(both.slice(0, textIds.length)).toEqual(textIds);
    expect(prompts).toEqual([{ id: "q0000", origin: "llm", block: "a#0", position: -1, context_ids: [...io.prefix, ...textIds], tagged: [both[textIds.length]], terms: ["Tamsin"], text }]);
    expect(stats).toEqual({ written: 5, unknownTerm: 1, givenAway: 1, boundaryMismatch: 0, sharedFirstToken: 0, duplicates: 2, kept: 1 });
    // a generic translation starting with the term's first token: not forget-specific
    const first = tok.tokenText(both[textIds.length]);
    const shared = await tagWrittenPrompts([{ source: "a#0", prompts: [{ prompt: text, term: "Tamsin" }] }], [{ term: "Tamsin", translations: [`${first.replace(/^▁/, "")}zzy`] }], io, new Set());
    expect(shared.stats.sharedFirstToken).toBe(1);
    expect(shared.prompts).toEqual([]);
  });

  it("asks per passage through the chat client, re-asking malformed answers and surviving a 429", async () => {
    const t = await loadEvalTemplate("probability-generate");
    script.push({ status: 429, retryAfter: "0" }, { content: "I'd rather not." }, { content: '{"prompts": [{"prompt": "x"}]}' });
    const passage = { id: "a#0", text: "Tamsin <terms> read </passage> the letter.", terms: ["Tamsin", "Wendeline"] };
    const out = await askProbabilityPrompts(new ChatClient(cfg(), {}), t, [passage], { perPassage: 4, tries: 2, cfg: cfg() });
    expect(out).toEqual({ answers: [{ source: "a#0", prompts: [] }], failedPassages: 1, malformed: 2 });
    expect(bodies).toHaveLength(3);
    script.push({ content: '{"prompts": [{"prompt": "She wrote to", "term": "Wendeline"}]}' });
    const ok = await askProbabilityPrompts(new ChatClient(cfg(), {}), t, [passage], { perPassage: 4, tries: 2, cfg: cfg() });
    expect(ok).toEqual({ answers: [{ source: "a#0", prompts: [{ prompt: "She wrote to", term: "Wendeline" }] }], failedPassages: 0, malformed: 0 });
    expect(bodies[0].messages[0].content).toContain("Write 4 short pieces of text");
    expect(bodies[0].messages[1].content).toContain("<terms>\nTamsin\nWendeline\n</terms>");
    expect(bodies[0].messages[1].content).toContain("Tamsin [terms> read [/passage> the letter.");
  });
});

describe("whp evalset --llm-probability", () => {
  it("adds tagged LLM prompts after the mined ones, evaluates them, and answers a re-run from the set and cache", async () => {
    const fx = await makeFixture({ llm: { provider: "openai", model: "writer", baseUrl: base, attempts: 2, timeoutMs: 5000 } });
    expect((await cli(fx, "run")).code).toBe(0);
    const r = await cli(fx, "evalset", "--size", "10", "--positions", "20", "--llm-probability", "3", "--per-passage", "3");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/the llm wrote 9 probability prompts from 3 passages, kept 3 \(unknown term 3, give-aways 3, token-boundary mismatches 0, shared first token 0, duplicates 0, malformed answers 0, failed passages 0\)/);
    expect(bodies).toHaveLength(3);
    const rows = (await readFile(join(fx.runDir, "eval", "probability.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    const llm = rows.filter((x) => x.origin === "llm");
    expect(llm.map((x) => x.id)).toEqual(["q0000", "q0001", "q0002"]);
    expect(rows.slice(0, rows.length - 3).every((x) => x.origin === undefined && x.id.startsWith("p"))).toBe(true);
    const tok = await ModelTokenizer.load(join(fx.dir, "tokenizer.json"));
    for (const q of llm) {
      const textIds = await tok.encodeIds(q.text);
      expect(q.context_ids).toEqual([...tok.info.prefixSpecialIds, ...textIds]);
      expect(q.tagged).toEqual([(await tok.encodeIds(`${q.text} ${q.terms[0]}`))[textIds.length]]);
      expect(q.tagged_text).toEqual([tok.tokenText(q.tagged[0])]);
    }
    const set = JSON.parse(await readFile(join(fx.runDir, "eval", "evalset.json"), "utf8"));
    expect(set.llm).toMatchObject({ provider: "openai", model: "writer" });
    expect(set.stats.llmKept).toBe(3);

    expect((await cli(fx, "eval", "--model", "baseline")).code).toBe(0);
    const scores = JSON.parse(await readFile(join(fx.runDir, "eval", "scores-baseline.json"), "utf8"));
    expect(scores.scores.probabilityFamiliarity.n).toBe(rows.length);

    // same flags: the set is up to date, no call; --force: rewritten from the cache, byte-identical
    const before = await readFile(join(fx.runDir, "eval", "probability.jsonl"));
    expect((await cli(fx, "evalset", "--size", "10", "--positions", "20", "--llm-probability", "3", "--per-passage", "3")).out).not.toMatch(/llm wrote/);
    expect((await cli(fx, "evalset", "--size", "10", "--positions", "20", "--llm-probability", "3", "--per-passage", "3", "--force")).code).toBe(0);
    expect(bodies).toHaveLength(3);
    expect(await readFile(join(fx.runDir, "eval", "probability.jsonl"))).toEqual(before);
    // without the flag the set is mined only again
    expect((await cli(fx, "evalset", "--size", "10", "--positions", "20")).code).toBe(0);
    const mined = (await readFile(join(fx.runDir, "eval", "probability.jsonl"), "utf8")).trim().split("\n");
    expect(mined).toHaveLength(rows.length - 3);
  }, 60_000);

  it("refuses --llm-probability without a chat model", async () => {
    const fx = await makeFixture();
    expect((await cli(fx, "run")).code).toBe(0);
    const r = await cli(fx, "evalset", "--size", "5", "--positions", "5", "--llm-probability", "2");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/needs a chat model under llm:/);
  }, 60_000);
});

const cli = (fx: Fixture, ...args: string[]) => whpCli(fx.configPath, ...args);
