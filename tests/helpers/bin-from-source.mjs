// Lets tests run the real bin/whp.js against the TypeScript source instead of a possibly stale dist/:
// `node --import tsx --import ./tests/helpers/bin-from-source.mjs bin/whp.js ...`. Only the binary's
// import of ../dist/pipeline/cli.js is redirected; everything else resolves as usual (tsx maps .js to .ts).
import { register } from "node:module";

register(
  "data:text/javascript," +
    encodeURIComponent(`
      const SOURCE = ${JSON.stringify(new URL("../../pipeline/cli.ts", import.meta.url).href)};
      export async function resolve(specifier, context, next) {
        if (specifier === "../dist/pipeline/cli.js" && context.parentURL && context.parentURL.endsWith("/bin/whp.js")) return next(SOURCE, context);
        return next(specifier, context);
      }`),
);
