// Changed-label share per alpha over trained labels and over all positions (countRow's definitions in
// pipeline/stages/export.ts), for the README's "Honest limits": node scripts/changed-label-shares.mjs <run folder>.
// The figures there come from: whp run --config demo/whp.config.yaml --set 'alphaVariants=[0.0001,1,2.5,10]'
import { readFileSync } from "node:fs";
const dir = process.argv[2];
const rows = (f) => readFileSync(`${dir}/${f}`, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const blocks = new Map(rows("blocks.jsonl").map((b) => [b.id, b.input_ids]));
const alphas = JSON.parse(readFileSync(`${dir}/labels-meta.json`, "utf8")).alphas;
const tot = alphas.map(() => ({ positions: 0, masked: 0, changed: 0 }));
for (const r of rows("labels.jsonl")) {
  const ids = blocks.get(r.id);
  r.labels.forEach((labels, k) => {
    for (let t = 1; t < labels.length; t++) {
      tot[k].positions++;
      if (labels[t] < 0) tot[k].masked++;
      else if (labels[t] !== ids[t]) tot[k].changed++;
    }
  });
}
alphas.forEach((a, k) => {
  const c = tot[k], trained = c.positions - c.masked;
  console.log(`alpha ${a}: changed ${c.changed} = ${(100 * c.changed / trained).toFixed(1)}% of ${trained} trained, ${(100 * c.changed / c.positions).toFixed(1)}% of ${c.positions} positions`);
});
