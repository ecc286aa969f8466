/** The k best (value, id) pairs offered: a binary heap with the worst (lowest value, then largest id)
 * on top, where the n-gram model's top-k search (query.ts) collects a position's best tokens. Ranking
 * matches fullToTopK: value descending, ties by the smaller id. */
export class TopHeap {
  private readonly ids: Int32Array;
  private readonly vals: Float64Array;
  private size = 0;
  constructor(private readonly k: number) {
    this.ids = new Int32Array(k);
    this.vals = new Float64Array(k);
  }
  full(): boolean {
    return this.size === this.k;
  }
  worstValue(): number {
    return this.vals[0];
  }
  /** Keeps (id, v) if it ranks among the k best so far; false when it does not. */
  offer(id: number, v: number): boolean {
    if (this.size < this.k) {
      let i = this.size++;
      this.set(i, id, v);
      for (let p = (i - 1) >> 1; i > 0 && this.worse(i, p); i = p, p = (i - 1) >> 1) this.swap(i, p);
      return true;
    }
    if (v < this.vals[0] || (v === this.vals[0] && id > this.ids[0])) return false;
    this.set(0, id, v);
    this.siftDown();
    return true;
  }
  /** Writes the contents best-first at ids/values[offset..] and empties the heap. */
  drainDescending(ids: Int32Array, values: Float32Array, offset: number): void {
    while (this.size > 0) {
      const last = --this.size;
      ids[offset + last] = this.ids[0];
      values[offset + last] = this.vals[0];
      this.swap(0, last);
      this.siftDown();
    }
  }
  private siftDown(): void {
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      let w = i;
      if (l < this.size && this.worse(l, w)) w = l;
      if (l + 1 < this.size && this.worse(l + 1, w)) w = l + 1;
      if (w === i) return;
      this.swap(i, w);
      i = w;
    }
  }
  private worse(a: number, b: number): boolean {
    return this.vals[a] < this.vals[b] || (this.vals[a] === this.vals[b] && this.ids[a] > this.ids[b]);
  }
  private set(i: number, id: number, v: number): void {
    this.ids[i] = id;
    this.vals[i] = v;
  }
  private swap(a: number, b: number): void {
    const [id, v] = [this.ids[a], this.vals[a]];
    this.set(a, this.ids[b], this.vals[b]);
    this.set(b, id, v);
  }
}
