// Drives the Host's upload page in Debian's headless Chromium through playwright-core, one JSON command per
// stdin line, one JSON answer per stdout line ({"id":…,"ok":true,…} or {"id":…,"ok":false,"error":"…"}).
// Commands: launch, open, network, addFiles, dropFiles, waitFor, rows, pause, resume, reload, screenshot, localStorage,
// runClient, requests, close. See README.md.
import { createInterface } from 'node:readline';
import { mkdtemp, rm, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
let context = null;
let page = null;
let cdp = null;
let userDataDir = null;
let requestLog = [];

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

const rowsInPage = () => [...document.querySelectorAll('#files .file')].map((row) => ({
  name: row.dataset.name,
  protocol: row.dataset.protocol,
  state: row.dataset.state,
  bytes: Number(row.dataset.bytes),
  total: Number(row.dataset.total),
  uploadUrl: row.dataset.uploadUrl ?? null,
  location: row.dataset.location ?? null,
  error: row.dataset.error ?? null,
  status: row.querySelector('.status')?.textContent ?? '',
}));

const commands = {
  async launch() {
    userDataDir = await mkdtemp(path.join(os.tmpdir(), 'storagebridge-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1000, height: 700 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/uploads/')) {
        requestLog.push({ method: request.method(), path: url.pathname, search: url.search });
      }
    });
    cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    return { version: context.browser()?.version() ?? null, userDataDir };
  },

  async open({ url }) {
    await page.goto(url, { waitUntil: 'load' });
    return { title: await page.title() };
  },

  // Chromium's own network emulation: bytes per second for uploads (the request bodies), -1 for none;
  // offline: every request fails at once, as with a pulled cable.
  async network({ uploadBytesPerSecond, offline }) {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: offline === true,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: uploadBytesPerSecond,
    });
    return {};
  },

  async addFiles({ paths }) {
    await page.setInputFiles('#file-input', paths);
    return {};
  },

  // Drops files on the page's drop zone as a user would drag them there (DataTransfer with File objects); the bytes
  // travel as base64, so this is for small files.
  async dropFiles({ paths }) {
    const files = await Promise.all(paths.map(async (file) => ({ name: path.basename(file), base64: (await readFile(file)).toString('base64') })));
    const dataTransfer = await page.evaluateHandle((files) => {
      const transfer = new DataTransfer();
      for (const { name, base64 } of files) {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name, { type: 'application/octet-stream' }));
      }

      return transfer;
    }, files);
    await page.dispatchEvent('#drop-zone', 'dragover', { dataTransfer });
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
    return {};
  },

  // Waits until the row of file `name` has at least `minBytes` (client-side progress) or is in `state`.
  async waitFor({ name, minBytes, state, timeoutMs }) {
    await page.waitForFunction(
      ({ name, minBytes, state }) => {
        const row = [...document.querySelectorAll('#files .file')].find((r) => r.dataset.name === name);
        if (!row) return false;
        if (row.dataset.state === 'error') return true;
        if (state !== undefined && state !== null) return row.dataset.state === state;
        return Number(row.dataset.bytes) >= minBytes;
      },
      { name, minBytes: minBytes ?? 0, state: state ?? null },
      { timeout: timeoutMs ?? 60000, polling: 50 });
    const row = (await page.evaluate(rowsInPage)).find((r) => r.name === name);
    if (row.state === 'error') {
      throw new Error(`upload of ${name} failed in the page: ${row.error}`);
    }

    return { row };
  },

  async rows() {
    return { rows: await page.evaluate(rowsInPage) };
  },

  async pause({ name }) {
    await page.locator(`#files .file[data-name="${name}"] button.pause`).click();
    return {};
  },

  async resume({ name }) {
    await page.locator(`#files .file[data-name="${name}"] button.pause`).click();
    return {};
  },

  async reload() {
    await page.reload({ waitUntil: 'load' });
    return {};
  },

  async screenshot({ path: file }) {
    await mkdir(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    return { path: file };
  },

  async localStorage() {
    return { entries: await page.evaluate(() => Object.fromEntries(Object.entries(window.localStorage))) };
  },

  // Runs window.crossOriginClients.run(client, options) in the page (cross-origin-clients.mjs, the cross-origin
  // tests' page): one upload with a real client library; answers { result: { ok, url, error, statuses } }.
  async runClient({ client, options }) {
    const result = await page.evaluate(({ client, options }) => window.crossOriginClients.run(client, options), { client, options });
    return { result };
  },

  // The /uploads/ requests the page sent since the last call (method, path, query string).
  async requests() {
    const log = requestLog;
    requestLog = [];
    return { requests: log };
  },

  async close() {
    await context?.close();
    context = null;
    if (userDataDir) {
      await rm(userDataDir, { recursive: true, force: true });
    }

    return {};
  },
};

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let message;
    try {
      message = JSON.parse(line);
      const command = commands[message.cmd];
      if (!command) throw new Error(`unknown command ${message.cmd}`);
      send({ id: message.id, ok: true, ...(await command(message)) });
    } catch (error) {
      send({ id: message?.id ?? null, ok: false, error: error?.stack ?? String(error) });
    }
  });
});
lines.on('close', () => {
  queue.then(() => commands.close()).finally(() => process.exit(0));
});
