// CodeMirror 6 wiring: Markdown highlighting, line wrapping, undo of one's own edits only,
// search, and the other people's cursors and selections with their names.
//
// Positions here are CodeMirror's (UTF-16); main.js converts to code points for the wire.

import { Annotation, Compartment, EditorState, Facet, StateEffect, StateField, Transaction } from '@codemirror/state';
import {
  Decoration,
  EditorView,
  WidgetType,
  drawSelection,
  highlightActiveLine,
  keymap,
  placeholder,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { HighlightStyle, LanguageSupport } from '@codemirror/language';
import { markdownLanguage } from '@codemirror/lang-markdown';
import { tags } from '@lezer/highlight';

import { el, isDark, onThemeChange } from './dom.js';
import { highlighting, markdownOf } from './editormarkdown.js';

const remote = Annotation.define();
const setCursors = StateEffect.define();
const writtenBy = Annotation.define(); // {name, color} of whoever wrote a change's inserted text
const setAuthorship = StateEffect.define(); // null (off) or [{from, to, name, color}] (UTF-16)
const recolorAuthors = StateEffect.define(); // (name) => colour: people's colours changed (presence)

// Authorship colours (Etherpad's): marks that follow the text as it changes; what is inserted
// while they are on is marked for its writer (a remote revision's author, or this page). A mark
// inside another is drawn over it (the backgrounds are opaque), so newer writing shows on top.
const authorMarks = new Map(); // name + colour -> its mark
function authorMark(name, color) {
  const key = name + '\n' + color;
  if (!authorMarks.has(key)) authorMarks.set(key, Decoration.mark({ class: 'cm-author', attributes: { style: `--author:${color}`, title: name } }));
  return authorMarks.get(key);
}
const authorshipField = StateField.define({
  create: () => null, // null: off
  update(deco, tr) {
    for (const e of tr.effects) {
      if (e.is(setAuthorship)) deco = e.value && Decoration.set(e.value.filter((s) => s.to > s.from).map((s) => authorMark(s.name, s.color).range(s.from, s.to)), true);
      if (e.is(recolorAuthors) && deco) {
        const ranges = [];
        deco.between(0, tr.state.doc.length, (from, to, mark) => {
          const name = mark.spec.attributes.title;
          ranges.push(authorMark(name, e.value(name)).range(from, to));
        });
        deco = Decoration.set(ranges, true);
      }
    }
    if (!deco || !tr.docChanged || tr.effects.some((e) => e.is(setAuthorship))) return deco;
    deco = deco.map(tr.changes);
    const who = tr.annotation(writtenBy) || tr.startState.facet(localAuthor);
    if (!who) return deco;
    const inserted = []; // [from, to) in the new text, in order
    tr.changes.iterChanges((fromA, toA, fromB, toB) => toB > fromB && inserted.push([fromB, toB]));
    if (!inserted.length) return deco;
    // a mark that covered where the text went in grew over it when mapped: cut it around the
    // new text, which is only its writer's (typing inside Alice's sentence coloured the
    // letters as Alice's and the writer's at once, and the history disagreed)
    const add = [];
    deco = deco.update({
      filter: (from, to, mark) => {
        if (!inserted.some(([a, b]) => from < b && to > a)) return true;
        let start = from;
        for (const [a, b] of inserted) {
          if (b <= start || a >= to) continue;
          if (a > start) add.push(mark.range(start, a));
          start = Math.max(start, b);
        }
        if (start < to) add.push(mark.range(start, to));
        return false;
      },
    });
    for (const [a, b] of inserted) add.push(authorMark(who.name, who.color).range(a, b));
    return deco.update({ add, sort: true });
  },
  provide: (f) => EditorView.decorations.from(f, (deco) => deco || Decoration.none),
});
const localAuthor = Facet.define({ combine: (values) => values[values.length - 1] || null });

// colours are the stylesheet's (style.css), so they follow the light or dark theme
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: '1.5em', fontWeight: 'bold' },
  { tag: tags.heading2, fontSize: '1.3em', fontWeight: 'bold' },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: 'bold' },
  { tag: tags.strong, fontWeight: 'bold' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: 'var(--hl-link)', textDecoration: 'underline' },
  { tag: tags.monospace, fontFamily: 'ui-monospace, monospace', color: 'var(--hl-code)' },
  { tag: tags.quote, color: 'var(--hl-quote)', fontStyle: 'italic' },
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator], color: 'var(--hl-meta)' },
  { tag: tags.list, color: 'var(--hl-list)' },
  // inside fenced code blocks that name their language (its parser is loaded on first use)
  { tag: [tags.keyword, tags.operatorKeyword, tags.modifier], color: 'var(--code-keyword)' },
  { tag: [tags.string, tags.regexp, tags.special(tags.string)], color: 'var(--code-string)' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: 'var(--code-comment)', fontStyle: 'italic' },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: 'var(--code-number)' },
  { tag: [tags.function(tags.variableName), tags.function(tags.definition(tags.variableName)), tags.definition(tags.typeName), tags.className], color: 'var(--code-title)' },
  { tag: [tags.typeName, tags.propertyName, tags.attributeName, tags.standard(tags.variableName)], color: 'var(--code-attr)' },
]);

class CursorWidget extends WidgetType {
  constructor(name, color, below) {
    super();
    this.name = name;
    this.color = color;
    this.below = below; // on the first line a label above the cursor would be cut off: put it below
  }
  eq(other) {
    return other.name === this.name && other.color === this.color && other.below === this.below;
  }
  toDOM() {
    // a name is text, never HTML; a colour is one of dom.js's
    const label = el('span', { class: this.below ? 'cm-remote-label below' : 'cm-remote-label', style: `background-color:${this.color}` }, this.name);
    return el('span', { class: 'cm-remote-cursor', style: `border-left-color:${this.color}` }, label);
  }
  ignoreEvent() {
    return true;
  }
}

function cursorDecorations(cursors, doc) {
  const { length } = doc;
  const firstLineEnd = doc.line(1).to;
  const ranges = [];
  for (const c of cursors) {
    const anchor = Math.max(0, Math.min(c.anchor, length));
    const head = Math.max(0, Math.min(c.head, length));
    const from = Math.min(anchor, head);
    const to = Math.max(anchor, head);
    if (from < to) {
      ranges.push(Decoration.mark({ class: 'cm-remote-selection', attributes: { style: `background-color: ${c.color}33` } }).range(from, to));
    }
    ranges.push(Decoration.widget({ widget: new CursorWidget(c.name, c.color, head <= firstLineEnd), side: 1 }).range(head));
  }
  return Decoration.set(ranges, true);
}

const cursorField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setCursors)) deco = cursorDecorations(e.value, tr.state.doc);
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/**
 * @param {HTMLElement} parent
 * @param {object} o
 * @param {string} o.text
 * @param {boolean} o.readOnly
 * @param {(from, to, insert) => void} o.onLocalChange  UTF-16 range in the text before the change
 * @param {(anchor, head) => void} o.onSelection
 * @param {((files: File[], pos: number) => void)|null} o.onImages  images pasted or dropped at pos (UTF-16)
 */
// Markdown highlighting is on whatever the document's size (until issue 15 it went off above
// 400k characters): lezer's parse is incremental (and editormarkdown.js keeps it and the
// highlighting from walking every block before the change and the screen) and CodeMirror runs
// it only as far as the screen shows (the rest in idle time), so a keystroke in a 4 M code
// point document costs about what it costs in 1 KB (bench/keystroke.py, docs/performance.md).
// Except in a paragraph of 100k+ characters, which it re-parses whole: a text that has one
// when the page opens turns it off for the page (editorlarge.js, loaded only for long texts).
const plainMarkdown = new LanguageSupport(markdownOf());
const markdownHighlighting = highlighting(markdownStyle);
const FENCED = /^ {0,3}(```|~~~)[ \t]*[\w+#.-]+/; // a line opening a code block that names its language
const FENCED_ANYWHERE = new RegExp(FENCED.source, 'm');
// what a pasted or dropped file must be to be uploaded as an image (the server sniffs its bytes)
const IMAGE_NAME = /\.(png|jpe?g|gif|webp|svg)$/i;
export const isImage = (file) => /^image\//.test(file.type) || IMAGE_NAME.test(file.name || '');

export function createEditor(parent, o) {
  const language = new Compartment();
  const theme = new Compartment(); // CodeMirror's own dark styles (search panel, selection) follow the page
  const me = new Compartment(); // who this page's own typing is marked as, in authorship colours
  const editable = new Compartment();
  let code = null; // editorcode.js, once a fenced block names a language
  let codeLoading = false;
  // language.off: a paragraph of 100k+ units, no highlighting on this page (editorlarge.js)
  const markdownSupport = () => (language.off ? [] : [code ? new LanguageSupport(markdownOf(code.withCode(markdownLanguage.parser))) : plainMarkdown, markdownHighlighting]);
  const wantCode = (line) => {
    if (code || codeLoading || !FENCED.test(line)) return;
    codeLoading = true;
    import('./editorcode.js').then((m) => {
      code = m;
      view.dispatch({ effects: language.reconfigure(markdownSupport()) });
    });
  };
  // search (editorsearch.js) comes just after the editor shows; until it is here, its keys
  // load it and then do what they do
  const searching = new Compartment();
  let searchLoad = null;
  let searchHere = false; // then its own keymap (above these) has the keys
  const loadSearch = () =>
    (searchLoad = searchLoad || import('./editorsearch.js').then((m) => {
      searchHere = true;
      view.dispatch({ effects: searching.reconfigure(m.searchSupport()) });
      return m;
    }));
  const early = (key, shift) => (v) => {
    if (searchHere) return false;
    loadSearch().then((m) => {
      const b = m.searchKeymap.find((k) => k.key === key);
      (shift ? b.shift : b.run)(v);
    });
    return true;
  };
  const earlyKeys = ['Mod-f', 'F3', 'Mod-g', 'Mod-Shift-l', 'Mod-Alt-g', 'Mod-d'].map((key) => ({ key, run: early(key), shift: key === 'F3' || key === 'Mod-g' ? early(key, true) : undefined }));
  const trackers = new Set(); // positions kept through every change (where an uploading image goes)
  const extensions = [
    EditorState.lineSeparator.of('\n'), // keep "\r" as text: the document is exactly the server's
    history(),
    drawSelection(),
    highlightActiveLine(),
    EditorView.lineWrapping,
    language.of(markdownSupport()),
    theme.of(EditorView.darkTheme.of(isDark())),
    searching.of([]),
    // Tab indents (indentWithTab); the page says how to leave (Esc, then Tab: CodeMirror's own)
    keymap.of([{ key: 'Tab', run: () => (o.onTab?.(), false) }, ...defaultKeymap, ...historyKeymap, indentWithTab]),
    keymap.of(earlyKeys), // below the search's own keymap once that is here
    cursorField,
    authorshipField,
    me.of(localAuthor.of(null)),
    // an image pasted or dropped is uploaded and named where it was put (o.onImages); another
    // file dropped on the editor is imported (main.js asks first), not pasted where it fell
    EditorView.domEventHandlers({
      drop(event, view) {
        const files = [...((event.dataTransfer && event.dataTransfer.files) || [])];
        const images = files.filter(isImage);
        if (images.length && o.onImages) {
          event.preventDefault();
          const at = view.posAtCoords({ x: event.clientX, y: event.clientY });
          o.onImages(images, at === null ? view.state.selection.main.head : at);
          return true;
        }
        if (!files.length || !o.onDropFile) return false;
        event.preventDefault();
        o.onDropFile(files[0]);
        return true;
      },
      paste(event, view) {
        const images = [...((event.clipboardData && event.clipboardData.files) || [])].filter(isImage);
        if (!images.length || !o.onImages) return false;
        event.preventDefault();
        o.onImages(images, view.state.selection.main.head);
        return true;
      },
    }),
    EditorView.contentAttributes.of({ 'aria-label': 'Document text', spellcheck: 'true' }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) for (const t of trackers) t.pos = update.changes.mapPos(t.pos, -1);
      // the line an edit is on (a fence typed), and every line a paste or a remote change
      // brought (a whole document pasted at once starts on its first line: its code blocks
      // stayed plain until a reload)
      if (update.docChanged && !code) {
        update.changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
          wantCode(update.state.doc.lineAt(fromB).text);
          if (inserted.lines > 1) wantCode(FENCED_ANYWHERE.test(inserted.toString()) ? '```x' : '');
        });
      }
      if (update.docChanged) {
        for (const tr of update.transactions) {
          if (tr.annotation(remote) || !tr.docChanged) continue;
          tr.changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
            // Earlier changes of this transaction are already applied: start at fromB.
            o.onLocalChange(fromB, fromB + (toA - fromA), inserted.toString());
          });
        }
      }
      if (update.selectionSet || update.docChanged) {
        const sel = update.state.selection.main;
        o.onSelection(sel.anchor, sel.head);
      }
    }),
  ];
  extensions.push(editable.of(o.readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []));
  if (!o.readOnly) extensions.push(placeholder('Start typing… (Markdown)'));
  const view = new EditorView({ state: EditorState.create({ doc: o.text, extensions }), parent });
  if (FENCED_ANYWHERE.test(o.text)) wantCode('```x');
  if (o.text.length > 1e5) import('./editorlarge.js').then((m) => m.check(view, language, o.text));
  onThemeChange((dark) => view.dispatch({ effects: theme.reconfigure(EditorView.darkTheme.of(dark)) }));
  setTimeout(loadSearch, 0);

  return {
    view,
    text: () => view.state.doc.toString(),
    /** Apply a change made elsewhere: ops (core/ops.js) on the current text, written by `author`
     *  ({name, color}, for authorship colours). Not undoable here. `fullText()`: the text they
     *  make, asked for only if the editor is out of step (building it costs the document). */
    applyRemote(ops, fullText, author) {
      const changes = [];
      let pos = 0;
      let total = 0;
      for (const op of ops) {
        if (typeof op === 'string') changes.push({ from: pos, insert: op });
        else if (op > 0) {
          pos += op;
          total += op;
        } else {
          changes.push({ from: pos, to: pos - op });
          pos -= op;
          total -= op;
        }
      }
      const annotations = [remote.of(true), Transaction.addToHistory.of(false), writtenBy.of(author || { name: 'someone', color: '#475569' })];
      if (total !== view.state.doc.length) {
        // Out of step (should not happen): show the authoritative text rather than garbage.
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: fullText() }, annotations });
        return;
      }
      view.dispatch({ changes, annotations });
    },
    /** A position (UTF-16) that follows the text through every change, local or remote, until
     *  `untrack`: {pos}. Text typed exactly there goes after it. */
    track(pos) {
      const t = { pos: Math.max(0, Math.min(pos, view.state.doc.length)) };
      trackers.add(t);
      return t;
    },
    untrack(t) {
      trackers.delete(t);
    },
    /** Authorship colours: spans [{from, to, name, color}] (UTF-16) of the current text, or null (off). */
    setAuthorship(spans) {
      view.dispatch({ effects: setAuthorship.of(spans), annotations: [remote.of(true)] });
    },
    /** People's colours changed (someone came or left, a pick gave way): `colorOf(name)` for each marked name. */
    recolorAuthors(colorOf) {
      view.dispatch({ effects: recolorAuthors.of(colorOf) });
    },
    /** No more typing (the document was deleted, or its link no longer works): the text stays, to be copied. */
    setReadOnly(on) {
      view.dispatch({ effects: editable.reconfigure(on ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []) });
    },
    /** Who this page's own typing is marked as: {name, color}. */
    setLocalAuthor(who) {
      view.dispatch({ effects: me.reconfigure(localAuthor.of(who)) });
    },
    /** cursors: [{anchor, head, name, color}] in UTF-16 positions of the current text. */
    setCursors(cursors) {
      view.dispatch({ effects: setCursors.of(cursors), annotations: [remote.of(true)] });
    },
  };
}
