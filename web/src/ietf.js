// IETF resumable uploads (draft -05, interop version 6) through tus-js-client directly. Its own fingerprint
// (protocol prefix) keeps these upload URLs apart from the tus ones in localStorage.
import * as tus from 'tus-js-client';
import { retryDelays, uploadsEndpoint } from './uploader-options.js';

export function createIetfUploader(file, { target, chunkSize }, events) {
  const upload = new tus.Upload(file, {
    endpoint: uploadsEndpoint(target),
    protocol: 'ietf-draft-05',
    chunkSize,
    retryDelays,
    removeFingerprintOnSuccess: true,
    metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
    fingerprint: (f, options) =>
      Promise.resolve(['ietf-draft-05', f.name, f.type, f.size, f.lastModified, options.endpoint].join('-')),
    onUploadUrlAvailable: () => events.uploadUrl(upload.url),
    onProgress: (bytesSent, bytesTotal) => events.progress(bytesSent, bytesTotal),
    onShouldRetry: (error, retryAttempt, options) => {
      events.retrying();
      const status = error?.originalResponse?.getStatus?.() ?? 0;
      // tus-js-client's rule: retry network failures, 409 and 423 and any status outside 4xx.
      return status === 0 || status === 409 || status === 423 || status < 400 || status > 499;
    },
    onSuccess: async () => {
      // tus-js-client stops after creating an empty upload, but only the client completes an IETF upload: finish it
      // with the empty Upload-Complete: ?1 append the draft allows.
      if (file.size === 0) {
        const response = await fetch(upload.url, {
          method: 'PATCH',
          headers: {
            'Upload-Draft-Interop-Version': '6',
            'Upload-Offset': '0',
            'Upload-Complete': '?1',
            'Content-Type': 'application/partial-upload',
          },
        }).catch(() => null);
        if (!response?.ok) {
          events.error(`completing the empty upload failed (${response?.status ?? 'network error'})`);
          return;
        }
      }
      events.success(upload.url);
    },
    onError: (error) => events.error(error?.message ?? String(error)),
  });

  return {
    start: async () => {
      const previous = await upload.findPreviousUploads();
      if (previous.length > 0) {
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    },
    pause: () => { upload.abort(); },
    resume: () => { upload.start(); },
  };
}
