// The start-up protocol both fauxqs start scripts (fauxqs/, fauxqs2/) keep, so the test fixture reads them alike:
// listen on 127.0.0.1, print one line "fauxqs listening on http://127.0.0.1:<port>", exit when stdin closes (a dead
// test run leaves no orphan) or on SIGTERM/SIGINT.
export async function listenUntilStdinCloses(app, port) {
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
}
