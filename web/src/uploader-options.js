// Settings the three uploaders share.
// Delays between retries after a failed request (a lost connection, a restarting server): about a minute in all,
// long enough to ride out a restart of the bridge, and never more than 5 s between attempts.
export const retryDelays = [0, 500, 1000, 1000, 2000, 2000, 3000, 3000, ...Array(9).fill(5000)];

export function uploadsEndpoint(target) {
  return new URL(`/uploads/${encodeURIComponent(target)}`, window.location.href).href;
}
