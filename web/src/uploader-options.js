// Settings the three uploaders share.
// Delays between retries after a failed request (a lost connection, a restarting server): about a minute in all,
// long enough to ride out a restart of the bridge.
export const retryDelays = [0, 500, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 10000, 10000];

export function uploadsEndpoint(target) {
  return new URL(`/uploads/${encodeURIComponent(target)}`, window.location.href).href;
}
