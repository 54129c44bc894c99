// Bundles web/src/upload.js and its npm packages into web/dist/upload.js (committed; the Host embeds it together with
// web/src/upload.html and web/src/upload.css).
//   node build.mjs          write the bundle
//   node build.mjs --check  exit 1 when the committed bundle differs from what the sources produce
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, 'src');
const output = path.join(here, 'dist');
const check = process.argv.includes('--check');

const bundle = await esbuild.build({
  entryPoints: [path.join(source, 'upload.js')],
  bundle: true,
  write: false,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
});

const bundled = Buffer.from(bundle.outputFiles[0].contents);
const target = path.join(output, 'upload.js');
if (check) {
  const committed = await readFile(target).catch(() => null);
  if (committed === null || !committed.equals(bundled)) {
    console.error('web/dist/upload.js is out of date: run `npm ci --prefix web && npm run build --prefix web` and commit the result.');
    process.exit(1);
  }

  console.log('web/dist/upload.js is up to date.');
} else {
  await mkdir(output, { recursive: true });
  await writeFile(target, bundled);
  console.log(`wrote ${target} (${bundled.length} B)`);
}
