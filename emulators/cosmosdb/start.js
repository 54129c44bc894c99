#!/usr/bin/env node
// Starts @vercel/cosmosdb-server (pinned in package.json) for the tests, over plain HTTP on 127.0.0.1, with the two
// fixes the .NET SDK needs (see emulators/README.md):
//   1. reading a missing item answers 404 NotFound (the server throws on the missing document and answers 500);
//   2. the gateway query-plan request (x-ms-cosmos-is-query-plan-request: True) gets a single full-range plan, so
//      parameterized `SELECT * FROM c WHERE ...` queries work (the server would run the query instead).
// Plus: the account document advertises http:// endpoints (the server always writes https://, even without TLS).
//
// Usage: node start.js [--port N] [--host 127.0.0.1] [--exit-with-stdin]   (port 0 or none: a free port)
// Prints one line "cosmosdb-server listening on http://HOST:PORT/" once it accepts connections, then serves until
// killed, or with --exit-with-stdin until its stdin closes (the tests use it so an abandoned run leaves nothing behind).
"use strict";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const host = option("--host", "127.0.0.1");
const port = Number.parseInt(option("--port", "0"), 10);

// Fix 1 and the http:// endpoints: patch the handler modules before routes.js captures them (it reads
// `handler.default` once, when it is first required by the package's index).
const lib = "@vercel/cosmosdb-server/lib";
const readDocument = require(`${lib}/handler/read-document`);
const originalReadDocument = readDocument.default;
const { default: partitionFromHeader, parsePartitionKey } = require(`${lib}/utils/get-partition-from-header`);
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  // Same lookup as the server's handler; it dereferences the missing document without checking it.
  const header = partitionFromHeader(req);
  if (collection.read() && header !== undefined) {
    const document = collection.document(params.docId, parsePartitionKey(header, params.docId)).read();
    if (!document) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return originalReadDocument(account, req, res, params);
};

const readMeta = require(`${lib}/handler/read-meta`);
const originalReadMeta = readMeta.default;
readMeta.default = (account, req, res, params) => {
  const meta = originalReadMeta(account, req, res, params);
  const http = (locations) => (locations || []).map((l) => ({
    ...l,
    databaseAccountEndpoint: l.databaseAccountEndpoint.replace(/^https:/, "http:"),
  }));
  return { ...meta, writableLocations: http(meta.writableLocations), readableLocations: http(meta.readableLocations) };
};

const { createHttpServer } = require(lib);

// Fix 2: one plan covering the whole key range, with no ORDER BY/TOP/aggregates (the server supports none of them).
const queryPlan = JSON.stringify({
  partitionedQueryExecutionInfoVersion: 2,
  queryInfo: {
    distinctType: "None",
    top: null,
    offset: null,
    limit: null,
    orderBy: [],
    orderByExpressions: [],
    groupByExpressions: [],
    groupByAliases: [],
    aggregates: [],
    groupByAliasToAggregateType: {},
    rewrittenQuery: "",
    hasSelectValue: false,
    dCountInfo: null,
  },
  queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }],
});

const server = createHttpServer({ keepAlive: true });
const serve = server.listeners("request")[0];
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (String(req.headers["x-ms-cosmos-is-query-plan-request"]).toLowerCase() === "true") {
    req.resume(); // the body is the query; the plan does not depend on it
    res.writeHead(200, { "content-type": "application/json", "x-ms-request-charge": "0" });
    res.end(queryPlan);
    return;
  }
  serve(req, res);
});

server.listen(port, host, () => {
  const address = server.address();
  console.log(`cosmosdb-server listening on http://${address.address}:${address.port}/`);
});

if (args.includes("--exit-with-stdin")) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
