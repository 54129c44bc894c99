// Bundles cross-origin-clients.mjs with tus-js-client, Uppy (@uppy/core + @uppy/tus), Resumable.js and Flow.js into
// one browser script (IIFE) for the cross-origin tests: node build-cross-origin-clients.mjs <output file>.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const output = process.argv[2];
if (!output) {
  console.error('usage: node build-cross-origin-clients.mjs <output file>');
  process.exit(2);
}

await esbuild.build({
  entryPoints: [path.join(here, 'cross-origin-clients.mjs')],
  outfile: output,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  logLevel: 'warning',
});
