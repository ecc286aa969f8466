/**
 * Request rate of the real labels stage (issue 17, item 4), part of `npm run bench`; alone:
 * `npx tsx bench/labels-rate.bench.ts`.
 *
 * Two replay servers (one per model, as a real run usually has; a child process) answer every request
 * after a fixed delay and work on at most C at once, as a GPU server with C slots would; each model
 * is configured with concurrency C. Short blocks (16 tokens) keep parsing negligible, so the delay,
 * not the client's CPU, should set the pace: ideally C / delay requests per second per model. The
 * rate is read from the servers' own clocks, so it does not depend on how fast this machine is: per
 * server, the requests of the labels work divided by the time from the first of them arriving to the
 * last answer sent. The probe's requests before the work are sequential (each one waits for the
 * last), so the work starts at the first request that arrives while another is in flight (the one
 * in flight then is its first). Target: at least 90% of C / delay.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildLabelsInputs, writeServedConfig, type LabelsInputOptions } from "./labels-inputs.js";
import { runLabelsTimed, verdict } from "./labels-run.js";
import { viaSources } from "./labels-served.bench.js";
import { control, servedBodies, servedTimings, startReplayServer } from "./replay-server.js";

export const RATE_TARGET = 0.9;

/** Requests per second of the stage's work, from [arrival, sent] pairs in arrival order. */
export function workRate(timings: readonly [number, number][]): { requests: number; seconds: number; perSecond: number } {
  let start = timings.findIndex((t, i) => i > 0 && t[0] < timings[i - 1][1]);
  start = start > 0 ? start - 1 : 0;
  const work = timings.slice(start);
  const seconds = (Math.max(...work.map((t) => t[1])) - work[0][0]) / 1000;
  return { requests: work.length, seconds, perSecond: work.length / seconds };
}

export async function benchRequestRate(delayMs = 100, C = 16, chunkBlocks = 8): Promise<{ ok: boolean; fraction: number }> {
  // ~30 rounds of C blocks per model: the steady state, not the first connections.
  const o: LabelsInputOptions = { tokens: 30 * C * 16, blockSize: 16, topK: 20, terms: 200, chunkBlocks };
  const inputs = await buildLabelsInputs(o);
  const server = await startReplayServer({ runDir: join(inputs.dir, "run"), tokenizerPath: join(inputs.dir, "tokenizer.json"), k: 20, delayMs, concurrency: C, servers: 2, record: true });
  try {
    const [baseline, reinforced] = server.urls;
    await writeServedConfig(inputs.dir, o, { baseline, reinforced }, C);
    await runLabelsTimed(inputs.dir); // warm-up: JIT, connections
    for (const u of server.urls) await control(u, "/bench/reset", "POST");
    const stage = await runLabelsTimed(inputs.dir);
    const rates = await Promise.all(server.urls.map(async (u) => workRate(await servedTimings(u))));
    if (rates.some((r) => r.requests < inputs.blocks)) throw new Error(`the labels stage sent ${rates.map((r) => r.requests).join(" / ")} requests for ${inputs.blocks} blocks: it reused earlier work`);
    const ideal = C / (delayMs / 1000);
    // The same requests through VllmSource alone (no stage, no cache), C at a time per model: what
    // the transport allows, so a shortfall can be placed in the stage or below it.
    const bodies = (await Promise.all(server.urls.map((u) => servedBodies(u)))).flat();
    const sourceFraction = async (withCache: boolean) => {
      for (const u of server.urls) await control(u, "/bench/reset", "POST");
      await viaSources(inputs.dir, bodies, withCache);
      const r = await Promise.all(server.urls.map(async (u) => workRate(await servedTimings(u))));
      return Math.min(...r.map((x) => x.perSecond)) / ideal;
    };
    const bare = await sourceFraction(false);
    const withCache = await sourceFraction(true);
    const fraction = Math.min(...rates.map((r) => r.perSecond)) / ideal;
    const ok = fraction >= RATE_TARGET;
    console.log(
      `request rate, real labels stage (issue 17): ${inputs.blocks} blocks of <= 16 tokens in chunks of ${chunkBlocks}, server delay ${delayMs} ms, C = ${C} per model, one server per model, libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} thread(s): ` +
        `${rates.map((r, i) => `${["baseline", "reinforced"][i]} ${r.requests} requests in ${r.seconds.toFixed(2)} s = ${r.perSecond.toFixed(1)}/s`).join(", ")} ` +
        `= ${(100 * fraction).toFixed(1)}% of C/delay (${ideal}/s; target >= ${100 * RATE_TARGET}%: ${verdict(ok)}); stage ${stage.wallS.toFixed(2)} s wall, ${stage.cpuS.toFixed(2)} s CPU`,
    );
    console.log(`  the same requests through VllmSource.rows alone, C at a time per model (for comparison, no target): ${(100 * bare).toFixed(1)}% of C/delay without a cache, ${(100 * withCache).toFixed(1)}% with one`);
    return { ok, fraction };
  } finally {
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await benchRequestRate();
  if (!r.ok) process.exitCode = 1;
}
