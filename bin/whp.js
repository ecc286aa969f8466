#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): its first line runs before Node's ESM loader has read a file
// asynchronously, which is what starts libuv's thread pool, and the pool's size is read only then.
// Why 1 thread (unless UV_THREADPOOL_SIZE is set): the tokenizers binding encodes on that pool, and
// glibc keeps a malloc arena per thread that has encoded a book (~70 MB per 150k tokens). At 1 M /
// 5 M tokens `whp tokenize` peaked at 337 / 495 MB with 2 threads (1.47x) and 308 / 399 MB with 1
// (1.29x); Node's default 4 held ~530 MB at 5 M (bench/stages-memory.bench.ts). Nothing measured got
// slower: whp's file I/O is sequential, the response cache writes in the background off the requests'
// path and sockets do not use the pool (tokenize and translate took the same time, the labels stage's
// request rate was 95% of C/delay with 1 thread against 89-93% with 2, bench/labels-rate.bench.ts).
process.env.UV_THREADPOOL_SIZE ??= "1";
import("../dist/pipeline/cli.js").then(async ({ main }) => {
  process.exitCode = await main(process.argv);
});
