/**
 * The chunked executor's scheduler: chunks are started a window at a time and their items share one
 * concurrency limit, so a slow item in one chunk does not leave the servers idle, and memory holds only
 * the chunks in flight. Chunks may come from an async stream (the executor cuts them as it reads its
 * input): a worker asks for the next chunk only when it is free, so the stream is never read ahead of
 * the window.
 */
import pLimit, { type LimitFunction } from "p-limit";

/**
 * The window, counted in chunks: twice `inFlight` items queued plus one chunk, so the limit always has
 * work while a chunk waits for its slowest item (a window of inFlight / 4 chunks left most slots idle
 * when chunks were small, and idled them at every chunk boundary when they were not).
 */
export const chunkWindow = (inFlight: number, chunkItems: number): number => Math.max(2, Math.ceil((2 * inFlight) / chunkItems) + 1);

export async function scheduleChunks<C>(chunks: AsyncIterable<C> | Iterable<C>, inFlight: number, chunkItems: number, task: (chunk: C, limit: LimitFunction) => Promise<void>): Promise<void> {
  const limit = pLimit(inFlight);
  let failed = false;
  // After a failure no new item starts: the stage stops with the first error instead of finishing
  // the window's other requests.
  const guarded: LimitFunction = ((fn: () => Promise<unknown>) => limit(() => (failed ? Promise.reject(new Error("stage stopped")) : fn()))) as LimitFunction;
  const it: AsyncIterator<C> | Iterator<C> = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : (chunks as Iterable<C>)[Symbol.iterator]();
  // Async generators queue concurrent next() calls, so workers may share one iterator.
  const next = async () => (failed ? undefined : await it.next());
  // A failure in a task or in the stream (a bad input row) stops every worker.
  const workers = Array.from({ length: chunkWindow(inFlight, chunkItems) }, async () => {
    try {
      for (let r = await next(); r && !r.done; r = await next()) await task(r.value, guarded);
    } catch (e) {
      failed = true;
      throw e;
    }
  });
  await Promise.all(workers);
}

