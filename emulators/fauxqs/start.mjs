// Starts fauxqs (S3 part only is used) bound to 127.0.0.1. startFauxqs() hard-codes 0.0.0.0, so the app is built
// and listened on here. Usage: node start.mjs [port]  (0 or none: a free port). Prints one line
// "fauxqs listening on http://127.0.0.1:<port>" when ready; exits when stdin closes so a dead test run leaves no orphan.
import { buildApp } from "fauxqs";

const port = Number.parseInt(process.argv[2] ?? "0", 10);
const app = buildApp({ logger: false, defaultRegion: "us-east-1" });
const address = await app.listen({ port: Number.isFinite(port) ? port : 0, host: "127.0.0.1" });
process.stdout.write(`fauxqs listening on ${address}\n`);

const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
