// Starts fauxqs (S3 part only is used) bound to 127.0.0.1. startFauxqs() hard-codes 0.0.0.0, so the app is built
// and listened on here. Usage: node start.mjs [port]  (0 or none: a free port). Prints one line
// "fauxqs listening on http://127.0.0.1:<port>" when ready; exits when stdin closes so a dead test run leaves no orphan.
import { buildApp } from "fauxqs";
import { listenUntilStdinCloses } from "./listen.mjs";

const port = Number.parseInt(process.argv[2] ?? "0", 10);
const app = buildApp({ logger: false, defaultRegion: "us-east-1" });

// fauxqs parses CompleteMultipartUpload <Part> elements with a regex that only allows PartNumber and ETag: a part
// that also lists its checksum (as S3 requires for uploads created with a checksum algorithm) is silently skipped
// and the object is committed EMPTY. Strip the checksum elements first so real-S3 requests work unchanged.
// (fauxqs verifies no checksums at all; that is only testable against real S3/MinIO.)
app.addHook("preHandler", async (request) => {
  if (request.method !== "POST" || !String(request.url).includes("uploadId=") || request.body == null) {
    return;
  }
  const text = Buffer.isBuffer(request.body) ? request.body.toString("utf-8") : String(request.body);
  if (text.includes("<Checksum")) {
    request.body = text.replace(/<(Checksum[A-Za-z0-9]*)>[^<]*<\/\1>/g, "");
  }
});
await listenUntilStdinCloses(app, port);
