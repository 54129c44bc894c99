// Browser side of the cross-origin tests (bundled by build-cross-origin-clients.mjs, served by the test's server on
// another origin than the bridge): window.crossOriginClients.run(client, options) uploads the file of #file-input with
// one of the real client libraries and resolves { ok, url, error, statuses } without ever rejecting (statuses: every
// XMLHttpRequest's final status during the run).
import * as tus from 'tus-js-client';
import Uppy from '@uppy/core';
import Tus from '@uppy/tus';
import Resumable from 'resumablejs';
import Flow from '@flowjs/flow.js';

const theFile = () => {
  const file = document.querySelector('#file-input').files[0];
  if (!file) throw new Error('no file in #file-input');
  return file;
};

const meta = (file) => ({ filename: file.name, filetype: file.type || 'application/octet-stream' });

function tusJsClient({ endpoint, protocol, chunkSize, headers }) {
  const file = theFile();
  return new Promise((resolve) => {
    const upload = new tus.Upload(file, {
      endpoint,
      protocol,
      chunkSize,
      headers: headers ?? {},
      retryDelays: [],
      storeFingerprintForResuming: false,
      metadata: meta(file),
      onSuccess: () => resolve({ ok: true, url: upload.url }),
      onError: (error) => resolve({ ok: false, url: upload.url, error: String(error) }),
    });
    upload.start();
  });
}

function uppy({ endpoint, chunkSize, headers }) {
  const file = theFile();
  return new Promise((resolve) => {
    const instance = new Uppy({ id: `uppy-${Math.random().toString(36).slice(2)}`, autoProceed: false });
    instance.use(Tus, { endpoint, chunkSize, headers: headers ?? {}, retryDelays: [], storeFingerprintForResuming: false, allowedMetaFields: ['filename', 'filetype'] });
    instance.addFile({ name: file.name, type: file.type || 'application/octet-stream', data: file, source: 'cross-origin-test', meta: meta(file) });
    instance.on('upload-success', (_, response) => resolve({ ok: true, url: response.uploadURL }));
    instance.on('upload-error', (_, error, response) => resolve({ ok: false, error: String(error?.message ?? error) }));
    instance.upload().catch((error) => resolve({ ok: false, error: String(error?.message ?? error) }));
  });
}

// The chunk answers carry {"id","location","complete"}: the upload's URL is the location of the completing one.
function completedLocation(chunks, endpoint) {
  for (const chunk of chunks) {
    try {
      const answer = JSON.parse(chunk.xhr?.responseText ?? '');
      if (answer?.complete && answer.location) return new URL(answer.location, endpoint).href;
    } catch {
      // not a JSON answer
    }
  }

  return null;
}

function resumable(options) {
  const file = theFile();
  return new Promise((resolve) => {
    const r = new Resumable({ minFileSize: 0, minFileSizeErrorCallback: () => {}, ...options, target: options.endpoint });
    r.on('filesAdded', () => r.upload());
    r.on('fileSuccess', (resumableFile) => resolve({ ok: true, url: completedLocation(resumableFile.chunks, options.endpoint) }));
    r.on('fileError', (resumableFile, message) => resolve({ ok: false, error: String(message) }));
    r.addFile(file);
  });
}

function flow(options) {
  const file = theFile();
  return new Promise((resolve) => {
    const f = new Flow({ ...options, target: options.endpoint });
    f.on('fileSuccess', (flowFile) => resolve({ ok: true, url: completedLocation(flowFile.chunks, options.endpoint) }));
    f.on('fileError', (flowFile, message) => resolve({ ok: false, error: String(message) }));
    f.on('filesSubmitted', () => f.upload());
    f.addFile(file);
  });
}

const clients = { tus: tusJsClient, uppy, resumable, flow };

// Every XMLHttpRequest's final status during a run, in order (0: the browser gave the page no answer, e.g. CORS).
let statusLog = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function sendAndLog(...args) {
  // readyState 4 comes before load/error/loadend, so before the library's handlers resolve the run.
  this.addEventListener('readystatechange', () => { if (this.readyState === 4) statusLog.push(this.status); });
  return send.apply(this, args);
};

window.crossOriginClients = {
  async run(client, options) {
    statusLog = [];
    let result;
    try {
      result = await clients[client](options);
    } catch (error) {
      result = { ok: false, error: String(error?.stack ?? error) };
    }

    return { ...result, statuses: statusLog };
  },
};
