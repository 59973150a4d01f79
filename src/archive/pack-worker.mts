/**
 * Worker thread that writes one archive with node-tar's synchronous writer (see
 * WriteArchiveMode in create.ts). Its own file so tsc and esbuild can each put it next to
 * the module that starts it.
 */
import { parentPort, workerData } from "node:worker_threads";

import { asPyroError } from "../errors.js";
import { writeArchiveSync, type CreateArchiveOptions } from "./create.js";

try {
  const count = writeArchiveSync(workerData as CreateArchiveOptions);
  parentPort?.postMessage({ ok: true, count });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: asPyroError(error).toJSON() });
}
