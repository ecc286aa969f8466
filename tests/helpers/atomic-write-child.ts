/**
 * Child process for tests/atomic-write.test.ts: starts writeFileAtomic(path, <MiB of "b">) and stops
 * half-way through the bytes, says "half" on stdout and waits to be killed. The stop is made by
 * wrapping FileHandle.writeFile, so the kill lands mid-write every time, not by luck of timing.
 */
import { open } from "node:fs/promises";
import { writeFileAtomic } from "../../pipeline/io/artifacts.js";

const [path, mib] = process.argv.slice(2);
const probe = await open(process.execPath, "r");
const proto = Object.getPrototypeOf(probe) as { writeFile: (this: typeof probe, data: Uint8Array | string) => Promise<void> };
await probe.close();
const writeAll = proto.writeFile;
proto.writeFile = async function (data) {
  await writeAll.call(this, data.slice(0, Math.floor(data.length / 2)));
  await this.sync();
  process.stdout.write("half\n");
  setInterval(() => undefined, 1000); // stay alive until the test's SIGKILL
  await new Promise(() => undefined);
};
await writeFileAtomic(path, new Uint8Array(Number(mib) << 20).fill(0x62));
