#!/usr/bin/env node
import { main } from "../dist/pipeline/cli.js";

process.exitCode = await main(process.argv);
