// The Host's upload page: drop or choose files, each gets a row with a progress bar, pause/resume and, once
// finished, the object's location and download link. Rows carry data-* attributes (state, bytes, total,
// upload-url, location) so scripts and tests can read the state without parsing text.
import { createIetfUploader } from './ietf.js';
import { createResumableUploader } from './resumable.js';
import { createTusUploader } from './tus-uppy.js';

const uploaders = {
  tus: createTusUploader,
  ietf: createIetfUploader,
  resumable: createResumableUploader,
};

const protocolInput = document.getElementById('protocol');
const targetInput = document.getElementById('target');
const chunkSizeInput = document.getElementById('chunk-size');
const dropZone = document.getElementById('drop-zone');
const fileInput = document.getElementById('file-input');
const list = document.getElementById('files');

function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }

  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

// ?protocol=ietf&target=photos&chunkSize=1048576 preselects the settings (links, bookmarks, tests).
function applyQuery() {
  const query = new URLSearchParams(window.location.search);
  const protocol = query.get('protocol');
  if (protocol && uploaders[protocol]) {
    protocolInput.value = protocol;
  }

  const target = query.get('target');
  if (target) {
    selectTarget(target);
  }

  const chunkSize = Number.parseInt(query.get('chunkSize') ?? '', 10);
  if (chunkSize > 0) {
    if (![...chunkSizeInput.options].some((o) => o.value === String(chunkSize))) {
      chunkSizeInput.add(new Option(formatBytes(chunkSize), String(chunkSize)));
    }

    chunkSizeInput.value = String(chunkSize);
  }
}

// Limits of each target (from the Host), so chunks never exceed a target's max-append-size.
const targetLimits = new Map([['default', {}]]);

function selectTarget(name) {
  if (![...targetInput.options].some((o) => o.value === name)) {
    targetInput.add(new Option(name, name));
  }

  targetInput.value = name;
}

async function loadTargets() {
  const response = await fetch('upload-page/targets', { cache: 'no-store' });
  if (!response.ok) {
    return;
  }

  const selected = targetInput.value;
  targetInput.replaceChildren();
  for (const target of await response.json()) {
    targetLimits.set(target.name, target);
    const limits = [
      target.maxSize != null ? `max ${formatBytes(target.maxSize)}` : null,
      target.maxAppendSize != null ? `requests ≤ ${formatBytes(target.maxAppendSize)}` : null,
    ].filter(Boolean);
    targetInput.add(new Option(limits.length > 0 ? `${target.name} (${limits.join(', ')})` : target.name, target.name));
  }

  selectTarget(selected);
}

// The chosen chunk size, moved into what the target accepts per request. A Resumable.js last chunk may grow to
// almost twice the chunk size, so its chunks are at most half the maximum.
function chunkSizeFor(protocol, target) {
  const limits = targetLimits.get(target) ?? {};
  let chunkSize = Math.max(Number.parseInt(chunkSizeInput.value, 10), limits.minAppendSize ?? 0);
  if (limits.maxAppendSize != null) {
    chunkSize = Math.min(chunkSize, protocol === 'resumable' ? Math.floor(limits.maxAppendSize / 2) : limits.maxAppendSize);
  }

  return chunkSize;
}

function createRow(file, protocol, target) {
  const row = document.createElement('li');
  row.className = 'file';
  Object.assign(row.dataset, { name: file.name, protocol, target, state: 'queued', bytes: '0', total: String(file.size) });

  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = `${file.name} (${formatBytes(file.size)}, ${protocolInput.querySelector(`option[value="${protocol}"]`).textContent} → ${target})`;

  const actions = document.createElement('span');
  actions.className = 'actions';
  const pause = document.createElement('button');
  pause.type = 'button';
  pause.className = 'pause';
  pause.textContent = 'Pause';
  actions.append(pause);

  const progress = document.createElement('progress');
  progress.max = Math.max(file.size, 1);
  progress.value = 0;

  const status = document.createElement('span');
  status.className = 'status';
  status.textContent = 'waiting';

  const link = document.createElement('span');
  link.className = 'result';

  row.append(name, actions, progress, status, link);
  list.append(row);
  return { row, pause, progress, status, link };
}

function addFile(file) {
  const protocol = protocolInput.value;
  const target = targetInput.value;
  const chunkSize = chunkSizeFor(protocol, target);
  const ui = createRow(file, protocol, target);
  const setState = (state, text) => {
    ui.row.dataset.state = state;
    ui.status.textContent = text;
  };

  const events = {
    uploadUrl: (url) => { ui.row.dataset.uploadUrl = url; },
    progress: (bytes, total) => {
      if (ui.row.dataset.state === 'done' || ui.row.dataset.state === 'paused') {
        return;
      }

      ui.row.dataset.bytes = String(bytes);
      ui.row.dataset.total = String(total);
      ui.progress.max = Math.max(total, 1);
      ui.progress.value = bytes;
      const percent = total > 0 ? Math.floor((bytes / total) * 100) : 100;
      setState('uploading', `${formatBytes(bytes)} of ${formatBytes(total)} (${percent}%)`);
    },
    retrying: () => {
      const note = ', connection lost, retrying';
      if (ui.row.dataset.state === 'uploading' && !ui.status.textContent.endsWith(note)) {
        ui.status.textContent += note;
      }
    },
    success: (location) => {
      ui.row.dataset.bytes = String(file.size);
      ui.row.dataset.location = location;
      ui.progress.value = ui.progress.max;
      ui.pause.disabled = true;
      setState('done', 'done');
      const anchor = document.createElement('a');
      anchor.className = 'download';
      anchor.href = `${location}/content`;
      anchor.textContent = new URL(location, window.location.href).pathname;
      anchor.setAttribute('download', file.name);
      ui.link.replaceChildren(anchor);
    },
    error: (message) => {
      ui.row.dataset.error = message;
      setState('error', `failed: ${message}`);
    },
  };

  const uploader = uploaders[protocol](file, { target, chunkSize }, events);
  ui.pause.addEventListener('click', () => {
    if (ui.row.dataset.state === 'paused') {
      ui.pause.textContent = 'Pause';
      setState('uploading', 'resuming');
      uploader.resume();
    } else if (ui.row.dataset.state === 'uploading' || ui.row.dataset.state === 'queued') {
      uploader.pause();
      ui.pause.textContent = 'Resume';
      setState('paused', `paused at ${formatBytes(Number(ui.row.dataset.bytes))}`);
    }
  });
  setState('uploading', 'starting');
  uploader.start();
}

function addFiles(files) {
  for (const file of files) {
    addFile(file);
  }
}

applyQuery();
loadTargets().catch(() => { /* an older Host without the list: the targets from the query string and default */ });
fileInput.addEventListener('change', () => {
  addFiles([...fileInput.files]);
  fileInput.value = '';
});
dropZone.addEventListener('dragover', (e) => {
  e.preventDefault();
  dropZone.classList.add('over');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  dropZone.classList.remove('over');
  addFiles([...e.dataTransfer.files]);
});
