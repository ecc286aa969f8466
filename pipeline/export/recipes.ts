/**
 * The sequence lengths of the README's training recipes, and what each trainer does to a longer row.
 * `whp export` warns when blockSize exceeds one, because axolotl drops such rows without failing.
 * Evidence (cited in the README, "Minimum versions that keep custom labels"):
 * - axolotl: `excess_length_strategy` defaults to `drop` (src/axolotl/utils/data/utils.py, v0.12.2,
 *   which added `truncate`); earlier releases always drop (`drop_long_seq`).
 * - TRL >= 0.19: `SFTConfig.max_length` defaults to 1024 and `truncate_dataset` cuts every list column
 *   during dataset preparation (trl/data_utils.py).
 */
export interface RecipeLength {
  recipe: string;
  setting: string;
  tokens: number;
  effect: string;
}

export const RECIPE_LENGTHS: readonly RecipeLength[] = [
  {
    recipe: "axolotl",
    setting: "sequence_len: 512",
    tokens: 512,
    effect: "axolotl drops every longer row (excess_length_strategy: drop is the default; truncate exists from v0.12.2)",
  },
  {
    recipe: "TRL >= 0.19 (plain SFTConfig)",
    setting: "max_length (SFTConfig's default, 1024)",
    tokens: 1024,
    effect: "SFTTrainer truncates longer rows while preparing the dataset",
  },
];

/** One warning per README recipe whose sequence length is below blockSize. */
export function recipeLengthWarnings(blockSize: number): string[] {
  return RECIPE_LENGTHS.filter((r) => blockSize > r.tokens).map(
    (r) => `blockSize ${blockSize} exceeds the README's ${r.recipe} recipe (${r.setting}): ${r.effect}; set it to at least ${blockSize} when you train`,
  );
}
