// Browser side of the cross-origin tests (bundled by build-cross-origin-clients.mjs, served by the test's server on
// another origin than the bridge): window.crossOriginClients.run(client, options) uploads the file of #file-input with
// one of the real client libraries and resolves { ok, url, error, statuses } without ever rejecting.
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

function tusJsClient({ endpoint, protocol, chunkSize }) {
  const file = theFile();
  return new Promise((resolve) => {
    const upload = new tus.Upload(file, {
      endpoint,
      protocol,
      chunkSize,
      retryDelays: [],
      storeFingerprintForResuming: false,
      metadata: meta(file),
      onSuccess: () => resolve({ ok: true, url: upload.url }),
      onError: (error) => resolve({ ok: false, url: upload.url, error: String(error), statuses: [error?.originalResponse?.getStatus?.() ?? 0] }),
    });
    upload.start();
  });
}

function uppy({ endpoint, chunkSize }) {
  const file = theFile();
  return new Promise((resolve) => {
    const instance = new Uppy({ id: `uppy-${Math.random().toString(36).slice(2)}`, autoProceed: false });
    instance.use(Tus, { endpoint, chunkSize, retryDelays: [], storeFingerprintForResuming: false, allowedMetaFields: ['filename', 'filetype'] });
    instance.addFile({ name: file.name, type: file.type || 'application/octet-stream', data: file, source: 'cross-origin-test', meta: meta(file) });
    instance.on('upload-success', (_, response) => resolve({ ok: true, url: response.uploadURL }));
    instance.on('upload-error', (_, error, response) => resolve({ ok: false, error: String(error?.message ?? error), statuses: [response?.status ?? 0] }));
    instance.upload().catch((error) => resolve({ ok: false, error: String(error?.message ?? error), statuses: [] }));
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

const chunkStatuses = (chunks) => chunks.filter((c) => c.xhr).map((c) => c.xhr.status);

function resumable(options) {
  const file = theFile();
  return new Promise((resolve) => {
    const r = new Resumable({ minFileSize: 0, minFileSizeErrorCallback: () => {}, ...options, target: options.endpoint });
    r.on('filesAdded', () => r.upload());
    r.on('fileSuccess', (resumableFile) => resolve({ ok: true, url: completedLocation(resumableFile.chunks, options.endpoint), statuses: chunkStatuses(resumableFile.chunks) }));
    r.on('fileError', (resumableFile, message) => resolve({ ok: false, error: String(message), statuses: chunkStatuses(resumableFile.chunks) }));
    r.addFile(file);
  });
}

function flow(options) {
  const file = theFile();
  return new Promise((resolve) => {
    const f = new Flow({ ...options, target: options.endpoint });
    f.on('fileSuccess', (flowFile) => resolve({ ok: true, url: completedLocation(flowFile.chunks, options.endpoint), statuses: chunkStatuses(flowFile.chunks) }));
    f.on('fileError', (flowFile, message) => resolve({ ok: false, error: String(message), statuses: chunkStatuses(flowFile.chunks) }));
    f.on('filesSubmitted', () => f.upload());
    f.addFile(file);
  });
}

const clients = { tus: tusJsClient, uppy, resumable, flow };

window.crossOriginClients = {
  async run(client, options) {
    try {
      return await clients[client](options);
    } catch (error) {
      return { ok: false, error: String(error?.stack ?? error), statuses: [] };
    }
  },
};
