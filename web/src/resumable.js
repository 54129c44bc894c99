// Resumable.js chunks: three chunk POSTs at a time, each preceded by a test GET (200: the server has it, skip).
// Every chunk answer is JSON {id, location, complete}; the one that completes the file names the object.
import Resumable from 'resumablejs';
import { uploadsEndpoint } from './uploader-options.js';

const simultaneousUploads = 3;

function chunkAnswer(chunk) {
  const xhr = chunk.xhr;
  if (!xhr || xhr.readyState !== 4 || xhr.status !== 200 || !xhr.responseText.startsWith('{')) {
    return null;
  }

  try {
    return JSON.parse(xhr.responseText);
  } catch {
    return null;
  }
}

async function isDownloadable(location) {
  const response = await fetch(`${location}/content`, { headers: { Range: 'bytes=0-0' }, cache: 'no-store' });
  return response.status === 200 || response.status === 206;
}

export function createResumableUploader(file, { target, chunkSize }, events) {
  const endpoint = uploadsEndpoint(target);
  const resumable = new Resumable({
    target: endpoint,
    chunkSize,
    simultaneousUploads,
    testChunks: true,
    // Chunks failing on a lost connection are retried every second for a minute.
    chunkRetryInterval: 1000,
    maxChunkRetries: 60,
    minFileSize: 0,
    minFileSizeErrorCallback: () => {},
  });
  let location = null;

  const findLocation = (resumableFile) => {
    let completed = null;
    for (const chunk of resumableFile.chunks) {
      const answer = chunkAnswer(chunk);
      if (answer?.location) {
        location ??= new URL(answer.location, endpoint).href;
        if (answer.complete) {
          completed = new URL(answer.location, endpoint).href;
        }
      }
    }

    return completed;
  };

  resumable.on('fileAdded', () => resumable.upload());
  resumable.on('fileProgress', (resumableFile) => {
    if (location === null) {
      findLocation(resumableFile);
      if (location !== null) {
        events.uploadUrl(location);
      }
    }

    events.progress(Math.round(resumableFile.progress() * resumableFile.size), resumableFile.size);
  });
  resumable.on('fileRetry', () => events.retrying());
  resumable.on('fileSuccess', async (resumableFile) => {
    const completed = findLocation(resumableFile);
    if (completed) {
      events.success(completed);
    } else if (location && await isDownloadable(location).catch(() => false)) {
      // The answer that said "complete" was lost (e.g. the connection dropped after the server committed).
      events.success(location);
    } else {
      events.error('every chunk was accepted, but the server did not report the upload as complete');
    }
  });
  resumable.on('fileError', (resumableFile, message) => events.error(message || 'chunk upload failed'));

  return {
    start: () => resumable.addFile(file),
    pause: () => resumable.pause(),
    resume: () => resumable.upload(),
  };
}
