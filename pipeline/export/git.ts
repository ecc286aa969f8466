/** The tool's git commit for manifests, read from .git without spawning git (so it works where git is
 * not installed, and costs nothing). "unknown" outside a checkout (e.g. an npm install). */
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { packageRoot } from "../paths.js";

async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch {
    return undefined;
  }
}

/** Resolves the .git folder: a worktree or submodule has a `.git` file saying `gitdir: <path>`. */
async function gitDir(root: string): Promise<string | undefined> {
  const dotGit = join(root, ".git");
  try {
    if ((await stat(dotGit)).isDirectory()) return dotGit;
  } catch {
    return undefined;
  }
  const pointer = await read(dotGit);
  const m = pointer?.match(/^gitdir:\s*(.+)$/m);
  return m ? resolve(root, m[1]) : undefined;
}

export async function gitCommit(root = packageRoot()): Promise<string> {
  const dir = await gitDir(root);
  if (!dir) return "unknown";
  const head = await read(join(dir, "HEAD"));
  if (!head) return "unknown";
  if (/^[0-9a-f]{40,64}$/.test(head)) return head; // detached HEAD
  const ref = head.match(/^ref:\s*(.+)$/)?.[1];
  if (!ref) return "unknown";
  // A worktree keeps refs in the common dir; `commondir` points there.
  const common = await read(join(dir, "commondir"));
  for (const base of [dir, ...(common ? [resolve(dir, common)] : [])]) {
    const loose = await read(join(base, ref));
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    const packed = await read(join(base, "packed-refs"));
    const line = packed?.split("\n").find((l) => l.endsWith(` ${ref}`));
    if (line) return line.split(" ")[0];
  }
  return "unknown";
}
