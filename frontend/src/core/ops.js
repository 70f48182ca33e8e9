// Operations on a text, as ot.js writes them: a list whose numbers > 0 retain, numbers < 0
// delete and strings insert. They count UTF-16 units but never start or end inside a surrogate
// pair (every diff that makes them is pair-safe, see diff.js). Built, applied, composed,
// transformed, and positions mapped through them.
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

/** Append a retain of `n` to `ops` (merged into a retain before it); returns `ops`. */
export function retain(ops, n) {
  if (n <= 0) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'number' && last > 0) ops[ops.length - 1] = last + n;
  else ops.push(n);
  return ops;
}

/** Append an insert of `s` (merged, and kept before a delete it follows); returns `ops`. */
export function insert(ops, s) {
  if (!s) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'string') ops[ops.length - 1] = last + s;
  else if (typeof last === 'number' && last < 0) {
    // Keep inserts before deletes, so equal changes have one representation.
    const prev = ops[ops.length - 2];
    if (typeof prev === 'string') ops[ops.length - 2] = prev + s;
    else ops.splice(ops.length - 1, 0, s);
  } else ops.push(s);
  return ops;
}

/** Append a delete of `n` units (merged into a delete before it); returns `ops`. */
export function del(ops, n) {
  if (n <= 0) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'number' && last < 0) ops[ops.length - 1] = last - n;
  else ops.push(-n);
  return ops;
}

/** Length of the text an op list applies to. */
export function baseLength(ops) {
  let n = 0;
  for (const o of ops) if (typeof o === 'number') n += Math.abs(o);
  return n;
}

/** True when `ops` changes nothing. */
export function isNoop(ops) {
  return ops.every((o) => typeof o === 'number' && o > 0);
}

/** The text `ops` make of `text` (which must be exactly as long as they cover). */
export function applyOps(text, ops) {
  if (baseLength(ops) !== text.length) {
    throw new Error(`operation covers ${baseLength(ops)} units, text has ${text.length}`);
  }
  const parts = [];
  let i = 0;
  for (const o of ops) {
    if (typeof o === 'string') parts.push(o);
    else if (o > 0) {
      parts.push(text.slice(i, i + o));
      i += o;
    } else i -= o;
  }
  return parts.join('');
}

/**
 * Transform two ops on the same text: returns [a', b'] with apply(apply(S,a),b') ==
 * apply(apply(S,b),a'). When both insert at one position, `a`'s insert goes first. Deletes of
 * the same text collapse; an insert inside a range the other side deletes survives.
 */
export function transform(a, b) {
  if (baseLength(a) !== baseLength(b)) throw new Error('transform: ops on different texts');
  let i = 0;
  let j = 0;
  let x = a[i++];
  let y = b[j++];
  const a1 = [];
  const b1 = [];
  while (x !== undefined || y !== undefined) {
    if (typeof x === 'string') {
      insert(a1, x);
      retain(b1, x.length);
      x = a[i++];
      continue;
    }
    if (typeof y === 'string') {
      retain(a1, y.length);
      insert(b1, y);
      y = b[j++];
      continue;
    }
    if (x === undefined || y === undefined) throw new Error('transform: ops of different lengths');
    const lx = Math.abs(x);
    const ly = Math.abs(y);
    const m = Math.min(lx, ly);
    if (x > 0 && y > 0) {
      retain(a1, m);
      retain(b1, m);
    } else if (x < 0 && y > 0) {
      del(a1, m);
    } else if (x > 0 && y < 0) {
      del(b1, m);
    } // both delete: nothing left to do for either
    x = lx === m ? a[i++] : Math.sign(x) * (lx - m);
    y = ly === m ? b[j++] : Math.sign(y) * (ly - m);
  }
  return [a1, b1];
}

/** Compose: apply(apply(S, a), b) == apply(S, compose(a, b)). */
export function compose(a, b) {
  const out = [];
  let i = 0;
  let j = 0;
  let x = a[i++];
  let y = b[j++];
  while (x !== undefined || y !== undefined) {
    if (typeof x === 'number' && x < 0) {
      del(out, -x);
      x = a[i++];
      continue;
    }
    if (typeof y === 'string') {
      insert(out, y);
      y = b[j++];
      continue;
    }
    if (x === undefined || y === undefined) throw new Error('compose: ops of mismatched lengths');
    if (typeof x === 'string') {
      const ly = Math.abs(y);
      if (y > 0) {
        const m = Math.min(x.length, ly);
        insert(out, x.slice(0, m));
        x = x.length === m ? a[i++] : x.slice(m);
        y = ly === m ? b[j++] : ly - m;
      } else {
        const m = Math.min(x.length, ly);
        x = x.length === m ? a[i++] : x.slice(m);
        y = ly === m ? b[j++] : -(ly - m);
      }
      continue;
    }
    // x is a retain
    const ly = Math.abs(y);
    const m = Math.min(x, ly);
    if (y > 0) retain(out, m);
    else del(out, m);
    x = x === m ? a[i++] : x - m;
    y = ly === m ? b[j++] : Math.sign(y) * (ly - m);
  }
  return out;
}

/** Map a UTF-16 position through ops (as CodeMirror's mapPos); `assoc` < 0 stays before inserts. */
export function mapPosition(ops, pos, assoc = -1) {
  let oldAt = 0;
  let newAt = 0;
  for (const o of ops) {
    if (typeof o === 'string') {
      if (oldAt < pos || (oldAt === pos && assoc > 0)) newAt += o.length;
      continue;
    }
    if (oldAt >= pos) break;
    const n = Math.abs(o);
    if (o > 0) {
      const m = Math.min(n, pos - oldAt);
      newAt += m;
      oldAt += m;
    } else {
      const m = Math.min(n, pos - oldAt);
      oldAt += m;
    }
  }
  return newAt + Math.max(0, pos - oldAt);
}

