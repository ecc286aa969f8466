/** The libuv thread-pool size bin/whp.js gives every run unless UV_THREADPOOL_SIZE is set (see the
 * comment there): the benches run the pipeline with it, so they time and weigh what a user's whp
 * does. tests/pipeline-pool.test.ts keeps the two equal. */
export const PIPELINE_POOL_THREADS = "1";

export const pipelinePoolThreads = (): string => process.env.UV_THREADPOOL_SIZE ?? PIPELINE_POOL_THREADS;
