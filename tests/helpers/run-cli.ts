/** Runs the CLI from source, for tests that need a real child process (kill and resume). */
import { main } from "../../pipeline/cli.js";

process.exitCode = await main(process.argv);
