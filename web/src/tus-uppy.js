// tus 1.0 through Uppy (@uppy/core headless + @uppy/tus). Uppy stores each upload URL in localStorage under a
// fingerprint of the file, so adding the same file after a page reload resumes the same upload (HEAD, then PATCH).
import Uppy from '@uppy/core';
import Tus from '@uppy/tus';
import { retryDelays, uploadsEndpoint } from './uploader-options.js';

export function createTusUploader(file, { target, chunkSize }, events) {
  const uppy = new Uppy({ id: `uppy-${target}`, autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(Tus, {
    endpoint: uploadsEndpoint(target),
    chunkSize,
    retryDelays,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ['filename', 'filetype'],
    onShouldRetry: (error, retryAttempt, options, next) => {
      events.retrying();
      return next(error);
    },
  });
  const id = uppy.addFile({
    name: file.name,
    type: file.type || 'application/octet-stream',
    data: file,
    source: 'storagebridge-page',
    meta: { filename: file.name, filetype: file.type || 'application/octet-stream' },
  });

  uppy.on('upload-progress', (uppyFile, progress) => {
    const uploadUrl = uppy.getFile(id)?.tus?.uploadUrl;
    if (uploadUrl) {
      events.uploadUrl(uploadUrl);
    }
    events.progress(progress.bytesUploaded, progress.bytesTotal ?? file.size);
  });
  uppy.on('upload-success', (uppyFile, response) => events.success(response.uploadURL));
  uppy.on('upload-error', (uppyFile, error) => events.error(error?.message ?? String(error)));

  return {
    start: () => { uppy.upload().catch((error) => events.error(error?.message ?? String(error))); },
    pause: () => { if (!uppy.getFile(id).isPaused) uppy.pauseResume(id); },
    resume: () => { if (uppy.getFile(id).isPaused) uppy.pauseResume(id); },
  };
}
