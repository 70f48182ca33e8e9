// Images pasted or dropped into the editor, loaded on first use: each is uploaded to the
// document (POST /api/docs/<edit id>/images, with its progress said in the page), then a
// Markdown image naming its URL is put where it was pasted, as an ordinary edit. The URL is
// the image's own random id (/images/<id>): it names no document, so a viewer who reads it
// learns no edit id. The server decides the type from the bytes; what it refuses is said.

// as the server says sizes (core/images.py `human`)
export function human(n) {
  if (n < 1024) return `${n} bytes`;
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]]) {
    if (n >= size) {
      const v = n / size;
      return v === Math.round(v) || v >= 100 ? `${v.toFixed(0)} ${unit}` : `${v.toFixed(1)} ${unit}`;
    }
  }
  return `${n} bytes`;
}

/** The Markdown of an uploaded image: its file name (without extension) as the alt text. */
export function markdown(name, url) {
  const alt = String(name || '').replace(/\.[A-Za-z0-9]{1,5}$/, '').replace(/[[\]\\\r\n`*_<>]+/g, ' ').trim().slice(0, 100) || 'image';
  return `![${alt}](${url})`;
}

/**
 * Upload one image file; resolves to the server's answer {url, id, bytes, type}, or null when it
 * was refused (said through `say`, as the File menu's import says its own).
 * @param {string} doc  the edit id
 * @param {File} file
 * @param {{say: (message: string, opts?: {error?: boolean, done?: boolean}) => void, maxBytes: number}} o
 */
export function upload(doc, file, o) {
  const label = file.name && file.name !== 'image.png' ? `“${file.name}”` : 'the image';
  if (o.maxBytes && file.size > o.maxBytes) {
    o.say(`Could not add ${label} (${human(file.size)}): an image may be at most ${human(o.maxBytes)}.`, { error: true });
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/docs/${encodeURIComponent(doc)}/images`);
    // the declared type is only a hint: the server sniffs the bytes (and refuses a mismatch)
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => e.lengthComputable && o.say(`Uploading ${label}… ${Math.round((100 * e.loaded) / e.total)} %`);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: said by its status
      }
      if (xhr.status === 201 && body && body.url) {
        o.say(`Added ${label} (${human(body.bytes)}).`, { done: true });
        resolve(body);
        return;
      }
      o.say(`Could not add ${label}: ${body && body.error ? body.error.message : `HTTP ${xhr.status}`}`, { error: true });
      resolve(null);
    };
    xhr.onerror = () => {
      o.say(`Could not add ${label}: the server could not be reached.`, { error: true });
      resolve(null);
    };
    o.say(`Uploading ${label}…`);
    xhr.send(file);
  });
}

/** Type `text` at a tracked position `at` as a paste would (undoable, sent); `at` moves past it,
 *  and so does a cursor still there. */
function insertAt(view, at, text) {
  const from = Math.min(at.pos, view.state.doc.length);
  const cursor = view.state.selection.main;
  const spec = { changes: { from, insert: text }, userEvent: 'input.paste' };
  if (cursor.empty && cursor.head === from) spec.selection = { anchor: from + text.length };
  view.dispatch(spec);
  at.pos = from + text.length;
}

/**
 * Upload `list` one after another and name each that was stored at `at` (editor.js `track`),
 * in order; then stop tracking it. Nothing is typed once the document is gone (deleted).
 * @param {{view: object, untrack: (at: object) => void}} editor
 * @param {{pos: number}} at
 * @param {File[]} list
 * @param {{doc: string, say: Function, maxBytes: number}} o
 */
export async function addImages(editor, at, list, o) {
  try {
    for (const file of list) {
      const stored = await upload(o.doc, file, o);
      if (stored && document.body.dataset.deleted !== 'true') insertAt(editor.view, at, markdown(file.name, stored.url) + (list.length > 1 ? '\n' : ''));
    }
  } finally {
    editor.untrack(at);
  }
}
