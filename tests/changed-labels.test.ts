/**
 * The changed-label count (export's countRow: each train.jsonl row's counts.changed, summed into the
 * manifest, the dataset card and the run summary's "label differs from the original token"), against
 * a row built by hand. Labels follow Hugging Face's convention: labels[t] is the target for token t
 * (the trainer shifts), so a label is "changed" when it differs from input_ids[t], the original token
 * at that position, never from the token before it.
 */
import { describe, expect, it } from "vitest";
import { countRow } from "../pipeline/stages/export.js";

describe("the changed-label count of a row", () => {
  it("compares each label with the original token at its own position", () => {
    //                 t:    0     1   2     3   4   5
    const inputIds = [5, 6, 7, 8, 9, 10];
    const labels = [-100, 6, 99, -100, 8, 10];
    // t=1 kept (6 = 6); t=2 changed (99 != 7); t=3 masked; t=4 changed (8 != 9, though 8 is the
    // previous token); t=5 kept (10 = 10, though the previous token is 9).
    expect(countRow(inputIds, labels)).toEqual({ masked: 1, changed: 2 });
  });

  it("leaves position 0 out (it has no label to train) and counts every masked one after it", () => {
    expect(countRow([1, 2, 3], [-100, -100, -100])).toEqual({ masked: 2, changed: 0 });
    // A label at position 0 (a malformed row) is neither masked nor changed.
    expect(countRow([1, 2, 3], [7, 2, 3])).toEqual({ masked: 0, changed: 0 });
  });

  it("a generic label that repeats the previous token is a change; keeping the original is not", () => {
    // "the the": the model's generic choice at t=2 repeats token 1 instead of the original 4.
    expect(countRow([3, 1, 4, 1, 5], [-100, 1, 1, 1, 5])).toEqual({ masked: 0, changed: 1 });
  });
});
