#!/usr/bin/env node
// Runs many uploads at once with the real tus-js-client (Node build), retrying through server restarts.
//
// usage: node tus-many.mjs <jobs.json>
//   jobs.json: [{"name": "...", "endpoint": "http://.../uploads/t", "file": "/path", "protocol": "tus-v1",
//                "chunkSize": 4194304}, ...]
//
// Prints one JSON line per job when all have ended:
//   {"name", "url", "ok", "ms", "retries", "offsets": [server offsets after each PATCH, in order], "error"?}
// and exits 0 when every job succeeded, 1 otherwise (2 for bad arguments).
import { promises as fs, createReadStream } from 'node:fs'
import { Upload } from 'tus-js-client'

if (process.argv.length !== 3) {
  process.stderr.write('usage: node tus-many.mjs <jobs.json>\n')
  process.exit(2)
}

const jobs = JSON.parse(await fs.readFile(process.argv[2], 'utf8'))

// Up to ~2 minutes of retrying: long enough to outlast a killed instance and the load balancer's health check.
const retryDelays = [0, 250, 500, 1000, 1000, 2000, 2000, 3000, 3000, 5000, 5000, 5000, 10000, 10000, 10000, 10000, 10000, 10000, 10000, 10000]

function run(job) {
  return new Promise((resolve) => {
    const started = Date.now()
    const result = { name: job.name, url: null, ok: false, ms: 0, retries: 0, offsets: [] }
    let settled = false
    const finish = (error) => {
      if (settled) return
      settled = true
      result.ms = Date.now() - started
      result.ok = !error
      if (error) result.error = String(error && error.message ? error.message : error)
      resolve(result)
    }
    // tus-v1 streams the file. The IETF draft modes get a Buffer: with a Node stream, tus-js-client 4.3.1 ends them
    // with Upload-Complete: ?0, which leaves the upload incomplete (see docs/protocols.md).
    const source = job.protocol === 'tus-v1' ? Promise.resolve(createReadStream(job.file)) : fs.readFile(job.file)
    Promise.all([fs.stat(job.file), source]).then(([stat, input]) => {
      const upload = new Upload(input, {
        endpoint: job.endpoint,
        protocol: job.protocol,
        chunkSize: job.chunkSize,
        uploadSize: stat.size,
        retryDelays,
        metadata: { filename: job.name },
        removeFingerprintOnSuccess: true,
        onShouldRetry: () => {
          result.retries++
          return true
        },
        onChunkComplete: (_chunk, bytesAccepted) => {
          result.offsets.push(bytesAccepted)
        },
        onUploadUrlAvailable: () => {
          result.url = upload.url
        },
        onSuccess: () => {
          result.url = upload.url
          finish(null)
        },
        onError: (error) => finish(error),
      })
      upload.start()
    }, finish)
  })
}

const results = await Promise.all(jobs.map(run))
for (const result of results) process.stdout.write(JSON.stringify(result) + '\n')
process.exit(results.every((r) => r.ok) ? 0 : 1)
