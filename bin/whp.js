#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): its first line runs before Node's ESM loader has read a file
// asynchronously, which is what starts libuv's thread pool, and the pool's size is read only then.
// Why 2 threads (unless UV_THREADPOOL_SIZE is set): the tokenizers binding encodes on that pool, and
// glibc keeps a malloc arena per thread that has encoded a book (~70 MB per 150k tokens), so with
// Node's default 4 threads `whp tokenize` held ~530 MB at 5 M tokens against 452 MB with 2
// (bench/stages-memory.bench.ts). File reads and writes lose nothing measurable with 2 threads.
process.env.UV_THREADPOOL_SIZE ??= "2";
import("../dist/pipeline/cli.js").then(async ({ main }) => {
  process.exitCode = await main(process.argv);
});
