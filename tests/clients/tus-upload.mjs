#!/usr/bin/env node
// Uploads one file to a StorageBridge server with the real tus-js-client (Node build).
//
// usage: node tus-upload.mjs <endpoint> <file> <ietf-draft-03|ietf-draft-05|tus-v1> <chunkSize|none>
//                            [--abort-after-bytes N] [--upload-url URL] [--input stream|buffer]
//                            [--retry-delays 0,1000] [--metadata key=value]... [--timeout-ms N]
//                            [--defer-length 1] [--data-during-creation 1] [--parallel-uploads N] [--terminate 1]
//
// On success it prints one JSON line {"url": ..., "bytesUploaded": ...} and exits 0.
// With --abort-after-bytes N it aborts the running request once the client has sent at least
// N bytes, prints {"url": ..., "bytesUploaded": <bytes sent so far>, "aborted": true,
// "bytesAcknowledged": <offset last confirmed by the server>} and exits 0.
// With --upload-url URL it resumes that upload (HEAD, then PATCHes from the reported offset).
// --defer-length 1 sets uploadLengthDeferred (the length goes with the last PATCH), --data-during-creation 1
// sets uploadDataDuringCreation, --parallel-uploads N splits the file into N partial uploads joined by a final
// one (tus concatenation), --terminate 1 makes --abort-after-bytes terminate the upload (DELETE) as it aborts.
// On failure it prints the error message to stderr and exits 1 (2 for bad arguments).
import { createReadStream, promises as fs } from 'node:fs'
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { DefaultHttpStack, Upload } from 'tus-js-client'

const PROTOCOLS = new Set(['ietf-draft-03', 'ietf-draft-05', 'tus-v1'])

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node tus-upload.mjs <endpoint> <file> <ietf-draft-03|ietf-draft-05|tus-v1> <chunkSize|none> ` +
      '[--abort-after-bytes N] [--upload-url URL] [--input stream|buffer] [--retry-delays a,b,c] ' +
      '[--metadata key=value] [--timeout-ms N]\n',
  )
  process.exit(2)
}

function parseNonNegativeInteger(text, name) {
  if (!/^\d+$/.test(text)) usage(`${name} must be a non-negative integer, got '${text}'`)
  const value = Number(text)
  if (!Number.isSafeInteger(value)) usage(`${name} is too large: ${text}`)
  return value
}

function parseArgs(argv) {
  const positional = []
  const options = {
    abortAfterBytes: null,
    uploadUrl: null,
    input: 'stream',
    retryDelays: null,
    metadata: {},
    timeoutMs: 600_000,
    deferLength: false,
    dataDuringCreation: false,
    parallelUploads: 1,
    terminate: false,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      positional.push(arg)
      continue
    }
    const value = argv[++i]
    if (value === undefined) usage(`missing value for ${arg}`)
    switch (arg) {
      case '--abort-after-bytes':
        options.abortAfterBytes = parseNonNegativeInteger(value, arg)
        break
      case '--upload-url':
        options.uploadUrl = value
        break
      case '--input':
        if (value !== 'stream' && value !== 'buffer') usage(`--input must be stream or buffer, got '${value}'`)
        options.input = value
        break
      case '--retry-delays':
        options.retryDelays = value === '' ? [] : value.split(',').map((v) => parseNonNegativeInteger(v, arg))
        break
      case '--metadata': {
        const eq = value.indexOf('=')
        if (eq <= 0) usage(`--metadata needs key=value, got '${value}'`)
        options.metadata[value.slice(0, eq)] = value.slice(eq + 1)
        break
      }
      case '--timeout-ms':
        options.timeoutMs = parseNonNegativeInteger(value, arg)
        break
      case '--defer-length':
        options.deferLength = value === '1'
        break
      case '--data-during-creation':
        options.dataDuringCreation = value === '1'
        break
      case '--parallel-uploads':
        options.parallelUploads = parseNonNegativeInteger(value, arg)
        break
      case '--terminate':
        options.terminate = value === '1'
        break
      default:
        usage(`unknown option ${arg}`)
    }
  }
  if (positional.length !== 4) usage(`expected 4 positional arguments, got ${positional.length}`)
  const [endpoint, filePath, protocol, chunkText] = positional
  if (!PROTOCOLS.has(protocol)) usage(`unknown protocol '${protocol}'`)
  let chunkSize = Number.POSITIVE_INFINITY
  if (chunkText !== 'none') {
    chunkSize = parseNonNegativeInteger(chunkText, 'chunkSize')
    if (chunkSize === 0) usage('chunkSize must be positive or none')
  }
  return { endpoint, filePath, protocol, chunkSize, ...options }
}

// With --abort-after-bytes the abort must land mid-request, but a Buffer body reaches a loopback server faster
// than tus-js-client's progress events (throttled to one per 100 ms) arrive. This stack sends Buffer bodies as a
// stream of 1 MiB slices with a short pause between them, so progress is reported while the request still runs.
// The bytes, headers and tus-js-client's own slicing of the Buffer source are unchanged.
function pacedHttpStack() {
  const inner = new DefaultHttpStack()
  return {
    getName: () => 'PacedNodeHttpStack',
    createRequest(method, url) {
      const request = inner.createRequest(method, url)
      const send = request.send.bind(request)
      request.send = (body) => {
        if (!(body instanceof Uint8Array) || body.length === 0) return send(body)
        const slice = 1024 * 1024
        return send(
          Readable.from(
            (async function* () {
              for (let at = 0; at < body.length; at += slice) {
                yield body.subarray(at, Math.min(at + slice, body.length))
                await delay(5)
              }
            })(),
          ),
        )
      }
      return request
    },
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const { size } = await fs.stat(args.filePath)
  const input = args.input === 'buffer' ? await fs.readFile(args.filePath) : createReadStream(args.filePath)

  const result = await new Promise((resolve, reject) => {
    let bytesSent = 0
    let bytesAcknowledged = 0
    let settled = false

    const finish = (fn, value) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn(value)
    }

    const timer = setTimeout(() => {
      upload.abort(false)
      finish(reject, new Error(`timed out after ${args.timeoutMs} ms (sent ${bytesSent} of ${size} bytes)`))
    }, args.timeoutMs)

    const upload = new Upload(input, {
      endpoint: args.endpoint,
      uploadUrl: args.uploadUrl,
      protocol: args.protocol,
      chunkSize: args.chunkSize,
      uploadSize: args.deferLength || args.parallelUploads > 1 ? undefined : size,
      uploadLengthDeferred: args.deferLength,
      uploadDataDuringCreation: args.dataDuringCreation,
      parallelUploads: args.parallelUploads,
      metadata: { filename: args.filePath.split(/[\\/]/).pop(), ...args.metadata },
      // No retries unless asked for: a test must see the first failure, not a masked one.
      retryDelays: args.retryDelays,
      storeFingerprintForResuming: false,
      ...(args.abortAfterBytes !== null && args.input === 'buffer' ? { httpStack: pacedHttpStack() } : {}),
      onProgress(sent) {
        bytesSent = sent
        if (args.abortAfterBytes !== null && sent >= args.abortAfterBytes && !settled) {
          const url = upload.url
          upload.abort(args.terminate).then(
            () => finish(resolve, { url, bytesUploaded: bytesSent, aborted: true, bytesAcknowledged }),
            (err) => finish(reject, err),
          )
        }
      },
      onChunkComplete(_chunk, accepted) {
        bytesAcknowledged = accepted
      },
      onSuccess() {
        finish(resolve, { url: upload.url, bytesUploaded: size })
      },
      onError(err) {
        finish(reject, err)
      },
    })
    upload.start()
  })

  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err?.message ?? String(err)}\n`)
    process.exit(1)
  },
)
