// Service worker: network first, cache as fallback, for the pages and the bundle only, so an
// open document can be reloaded while offline (its unsaved edits come from localStorage).
// The Socket.IO traffic and the JSON API are never touched.

const CACHE = 'collab-shell-v1';
/* global PRECACHE */ // the bundle's files, listed by build.mjs

self.addEventListener('install', (e) => {
  self.skipWaiting();
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).catch(() => {}));
});
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  const p = url.pathname;
  if (!(p === '/' || p.startsWith('/assets/') || p.startsWith('/d/') || p.startsWith('/v/'))) return;
  e.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok) {
          const copy = resp.clone();
          caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return resp;
      })
      .catch(() => caches.match(req).then((hit) => hit || Response.error())),
  );
});
