// `node --import tsx --import ./tests/helpers/module-log-hook.mjs ...`: appends the URL of every module
// loaded after it (builtins aside) to the file named by WHP_MODULE_LOG, one per line. The hook runs in
// the loader thread, so it writes the file itself rather than messaging the test.
import { register } from "node:module";

const hook = `
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (!url.startsWith("node:")) appendFileSync(process.env.WHP_MODULE_LOG, url + "\\n");
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
