// The review page. Plain script, no build step, no network beyond this page's own server.
// Every change goes to the server at once with the version of the row it was made on; when the
// server answers 409 (the row changed on disk: another tab, a hand edit) the page shows why and takes
// the server's current rows, so nobody's change is overwritten unseen.
"use strict";

const TOKEN = document.querySelector('meta[name="whp-token"]').content;
const $ = (id) => document.getElementById(id);
const state = { rows: [], file: "", selected: null, flagKinds: [], statuses: [], translation: null, limit: 0, undo: [], saving: Promise.resolve() };
// The table shows this many rows at a time ("show more" adds as many): a book's dictionary has
// thousands, and a table of thousands of rows with inputs makes every keystroke slow.
const PAGE = 200;
// A bulk action over more rows than this asks first.
const CONFIRM_OVER = 5;
// Saves that can be undone, newest last.
const UNDO_DEPTH = 50;

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "x-whp-token": TOKEN, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = {};
  try { data = await res.json(); } catch { /* a non-JSON answer: keep the status */ }
  return { status: res.status, data };
}

function say(text, kind) {
  const m = $("message");
  m.hidden = !text;
  m.textContent = text || "";
  m.className = kind || "";
}

const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (v !== undefined && v !== null) e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};

// ---- filtering and sorting --------------------------------------------------------------------
function visibleRows() {
  const q = $("search").value.trim().toLowerCase();
  const status = $("filter-status").value;
  const flag = $("filter-flag").value;
  const cat = $("filter-category").value;
  const shown = state.rows.filter((r) =>
    (!status || r.status === status) &&
    (!cat || r.category === cat) &&
    (!flag || (flag === "*" ? r.flags.length > 0 : flag === "-" ? r.flags.length === 0 : r.flags.some((f) => f.kind === flag))) &&
    (!q || r.term.toLowerCase().includes(q) || r.translations.some((t) => t.toLowerCase().includes(q))));
  const sort = $("sort").value;
  if (sort === "frequency") shown.sort((a, b) => b.occurrences - a.occurrences || a.line - b.line);
  // Least sure first: the CSV's confidence (or proposal support); rows without one first, most flags first.
  if (sort === "confidence") shown.sort((a, b) => (a.confidence === null ? -Infinity : a.confidence) - (b.confidence === null ? -Infinity : b.confidence) || b.flags.length - a.flags.length || a.line - b.line);
  return shown;
}

// ---- rendering ---------------------------------------------------------------------------------
function rowElement(r) {
  const cands = el("div", { className: "cands" });
  r.translations.forEach((t, i) => {
    cands.append(el("span", { className: "cand" },
      el("input", { value: t, size: Math.max(4, t.length + 1), title: "edit; Enter saves", dataset: { term: r.term, field: "cand", idx: String(i) }, onchange: () => saveCandidates(r.term) }),
      el("button", { type: "button", textContent: "×", title: "remove this candidate", dataset: { term: r.term, field: "remove", idx: String(i) }, onclick: () => removeCandidate(r.term, i) })));
  });
  cands.append(el("button", { type: "button", className: "add-cand", textContent: "+", title: "add a candidate", onclick: () => addCandidateInput(r.term, cands) }));
  const status = el("select", { className: "status", dataset: { term: r.term, field: "status" }, onchange: (e) => edit(r.term, { status: e.target.value }) });
  for (const s of state.statuses) status.append(el("option", { value: s, textContent: s, selected: s === r.status }));
  const other = Object.entries(r.other).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join("\n");
  const tr = el("tr", { className: `status-${r.status}${r.term === state.selected ? " selected" : ""}`, dataset: { term: r.term, sig: JSON.stringify(r) }, onclick: () => select(r.term, false) },
    el("td", { className: "term", textContent: r.term, title: `line ${r.line}${other ? `\n${other}` : ""}` }),
    el("td", {}, cands),
    el("td", {}, el("input", { className: "cat", value: r.category, dataset: { term: r.term, field: "category" }, onchange: (e) => edit(r.term, { category: e.target.value }) })),
    el("td", {}, status),
    el("td", {}, el("input", { className: "notes", value: r.notes, dataset: { term: r.term, field: "notes" }, onchange: (e) => edit(r.term, { notes: e.target.value }) })),
    el("td", { className: "num occ", textContent: String(r.occurrences) }),
    el("td", { className: "num", textContent: r.blocks === null ? "–" : String(r.blocks), title: r.blocks === null ? "no blocks yet: the run has not tokenized the corpus" : "" }),
    el("td", {}, ...flagChips(r.flags)));
  return tr;
}

/** One chip per flag kind ("shared-translation ×12"), its messages on hover: a term that shares a
 * generic name with dozens of others would otherwise fill its cell with identical chips. */
function flagChips(flags) {
  const byKind = new Map();
  for (const f of flags) byKind.set(f.kind, [...(byKind.get(f.kind) || []), f.message]);
  return [...byKind].map(([kind, messages]) => {
    const shown = messages.slice(0, 12).join("\n") + (messages.length > 12 ? `\n… and ${messages.length - 12} more` : "");
    return el("span", { className: `flag ${kind}`, textContent: messages.length > 1 ? `${kind} ×${messages.length}` : kind, title: shown });
  });
}

/** Re-renders, keeping rows whose data did not change (and the field that has focus). */
function render() {
  const body = document.querySelector("#rows tbody");
  const active = document.activeElement && document.activeElement.dataset ? { ...document.activeElement.dataset } : null;
  const all = visibleRows();
  if (state.limit < PAGE) state.limit = PAGE;
  const shown = all.slice(0, state.limit);
  const current = [...body.children];
  const sameOrder = current.length === shown.length && current.every((tr, i) => tr.dataset.term === shown[i].term);
  if (sameOrder) {
    shown.forEach((r, i) => { if (current[i].dataset.sig !== JSON.stringify(r)) current[i].replaceWith(rowElement(r)); });
  } else {
    body.replaceChildren(...shown.map(rowElement));
  }
  for (const tr of body.children) tr.classList.toggle("selected", tr.dataset.term === state.selected);
  if (active && active.term && active.field && document.activeElement === document.body) {
    const sel = `[data-term="${CSS.escape(active.term)}"][data-field="${active.field}"]${active.idx ? `[data-idx="${active.idx}"]` : ""}`;
    const again = body.querySelector(sel);
    if (again) again.focus();
  }
  const count = (s) => state.rows.filter((r) => r.status === s).length;
  $("summary").textContent = `${state.rows.length} terms: ${state.statuses.map((s) => `${count(s)} ${s}`).join(", ")}; ${state.rows.filter((r) => r.flags.length).length} flagged; ${all.length} shown`;
  $("bulk-approve").textContent = `Approve ${all.length} shown`;
  $("bulk-reject").textContent = `Reject ${all.length} shown`;
  $("more").hidden = all.length <= shown.length;
  $("more-text").textContent = `${shown.length} of ${all.length} rows in the table`;
  const last = state.undo[state.undo.length - 1];
  $("undo").disabled = !last;
  $("undo").textContent = last ? `Undo ${last.label}` : "Undo";
}

function fillSelect(id, values, keepFirst) {
  const s = $(id);
  const old = s.value;
  s.replaceChildren(...[...s.options].slice(0, keepFirst), ...values.map((v) => el("option", { value: v, textContent: v })));
  s.value = old;
}

function takeListing(data) {
  state.rows = data.rows;
  state.file = data.file;
  state.flagKinds = data.flagKinds;
  state.statuses = data.statuses;
  $("file").textContent = data.file.split(/[\\/]/).pop();
  $("file").title = data.file;
  refreshLists();
}

/** An edit's answer: the rows whose view changed (or, when rows came or went, all of them). */
function takeAnswer(data) {
  if (data.rows) return takeListing(data);
  if (!data.changed) return;
  const changed = new Map(data.changed.map((r) => [r.term, r]));
  state.rows = state.rows.map((r) => changed.get(r.term) || r);
  refreshLists();
}

function refreshLists() {
  const cats = [...new Set(state.rows.map((r) => r.category).filter(Boolean))].sort();
  fillSelect("filter-category", cats, 1);
  fillSelect("filter-status", state.statuses, 1);
  fillSelect("filter-flag", state.flagKinds, 3);
  $("categories").replaceChildren(...cats.map((c) => el("option", { value: c })));
  render();
}

// ---- saving --------------------------------------------------------------------------------------
const byTerm = (term) => state.rows.find((r) => r.term === term);

/** What each edited row held before, in the fields the edit changes: the edit that undoes it. */
function before(edits) {
  return new Map(edits.map((e) => {
    const r = byTerm(e.term);
    return [e.term, r ? Object.fromEntries(Object.keys(e.changes).map((k) => [k, r[k]])) : null];
  }));
}

/** Sends edits (one or many rows) and takes the server's rows back, conflict or not. A save that
 * applied something can be undone: the undo is an edit of the same rows, based on the versions this
 * save produced, so it is refused (409) like any other edit if a row changed since. */
function send(edits, opts = {}) {
  const done = sendNow(edits, opts);
  state.saving = Promise.allSettled([state.saving, done]);
  return done;
}

async function sendNow(edits, opts) {
  const previous = before(edits);
  const { status, data } = await api("POST", "/api/edit", { edits });
  takeAnswer(data);
  // A conflict means the file changed under this page (another tab, a hand edit): take all of it.
  if (status === 409) {
    const fresh = await api("GET", "/api/rows");
    if (fresh.status === 200) takeListing(fresh.data);
  }
  if (!opts.undoing && data.applied && data.applied.length) {
    const back = data.applied.map((term) => ({ term, base: byTerm(term) && byTerm(term).version, changes: previous.get(term) })).filter((e) => e.base && e.changes);
    state.undo.push({ label: data.applied.length === 1 ? `"${data.applied[0]}"` : `${data.applied.length} rows`, edits: back });
    if (state.undo.length > UNDO_DEPTH) state.undo.shift();
    render();
  }
  if (status === 200) say(`${opts.undoing ? "undone" : "saved"} ${data.applied.length === 1 ? `"${data.applied[0]}"` : `${data.applied.length} rows`} ${opts.undoing ? "in" : "to"} ${state.file}`, "ok");
  else if (status === 409) say(`not saved: ${data.conflicts.map((c) => c.message + (c.current ? ` (now: ${c.current.translations.join("|")}, ${c.current.status}${c.current.notes ? `, "${c.current.notes}"` : ""})` : "") + yours(edits, c.term)).join("; ")}`, "error");
  else say(`not saved: ${data.error || `HTTP ${status}`}`, "error");
  if (state.selected && (status === 200 || status === 409)) loadConcordance();
  return status;
}

/** The refused change, in words, so the reviewer can redo it on the reloaded row. */
function yours(edits, term) {
  const e = edits.find((x) => x.term === term);
  if (!e) return "";
  return `; yours was ${Object.entries(e.changes).map(([k, v]) => `${k} ${JSON.stringify(Array.isArray(v) ? v.join("|") : v)}`).join(", ")}`;
}

function edit(term, changes) {
  const r = byTerm(term);
  return r ? send([{ term, base: r.version, changes }]) : Promise.resolve(0);
}

function candidateValues(term) {
  return [...document.querySelectorAll(`input[data-field="cand"][data-term="${CSS.escape(term)}"]`)].map((i) => i.value.trim()).filter(Boolean);
}
const saveCandidates = (term) => edit(term, { translations: candidateValues(term) });
const removeCandidate = (term, i) => edit(term, { translations: byTerm(term).translations.filter((_, j) => j !== i) });

function addCandidateInput(term, box) {
  const idx = String(box.querySelectorAll("input").length);
  const input = el("input", { placeholder: "new candidate", dataset: { term, field: "cand", idx }, onchange: () => saveCandidates(term) });
  box.insertBefore(el("span", { className: "cand" }, input), box.lastChild);
  input.focus();
}

async function bulk(status) {
  const edits = visibleRows().filter((r) => r.status !== status).map((r) => ({ term: r.term, base: r.version, changes: { status } }));
  if (!edits.length) return say(`every row shown is ${status} already`, "");
  if (edits.length > CONFIRM_OVER) {
    const unfiltered = ["search", "filter-status", "filter-flag", "filter-category"].every((id) => !$(id).value.trim());
    const whole = unfiltered ? " That is the whole dictionary: no search or filter is set." : "";
    if (!window.confirm(`Mark ${edits.length} rows ${status}?${whole} (Undo takes it back.)`)) return say(`nothing changed: ${edits.length} rows not marked ${status}`, "");
  }
  await send(edits);
}

/** Takes back the last save that is not undone yet. It first waits for saves still in flight, so a
 * quick "u" after Enter undoes that edit, not the one before it. */
async function undo() {
  await state.saving;
  const last = state.undo.pop();
  if (!last) return say("nothing to undo", "");
  const status = await send(last.edits, { undoing: true });
  if (status === 409) say(`${$("message").textContent} (undo of ${last.label}: the rows above changed since, so they were left as they are now)`, "error");
  render();
}

// ---- selection and concordance -------------------------------------------------------------------
function select(term, scroll) {
  if (state.selected !== term) state.translation = null;
  state.selected = term;
  for (const tr of document.querySelectorAll("#rows tbody tr")) tr.classList.toggle("selected", tr.dataset.term === term);
  const tr = document.querySelector(`#rows tbody tr[data-term="${CSS.escape(term)}"]`);
  if (scroll && tr) tr.scrollIntoView({ block: "nearest" });
  loadConcordance();
}

function move(step) {
  const shown = visibleRows();
  if (!shown.length) return;
  const i = shown.findIndex((r) => r.term === state.selected);
  const next = Math.max(0, Math.min(shown.length - 1, i < 0 ? 0 : i + step));
  // Moving past the rows in the table brings the next page in.
  if (next >= state.limit) {
    state.limit = next + PAGE;
    render();
  }
  select(shown[next].term, true);
}

const segs = (list) => list.map((s) => (s.mark ? el("mark", { className: s.mark, textContent: s.text }) : document.createTextNode(s.text)));

async function loadConcordance() {
  const r = byTerm(state.selected);
  if (!r) return;
  const chosen = state.translation && r.translations.includes(state.translation) ? state.translation : r.translations[0];
  const q = new URLSearchParams({ term: r.term, ...(chosen ? { translation: chosen } : {}) });
  const { status, data } = await api("GET", `/api/concordance?${q}`);
  if (status !== 200 || state.selected !== r.term) return;
  $("ctx-title").textContent = r.term;
  $("ctx-choice").hidden = r.translations.length === 0;
  $("ctx-translation").replaceChildren(...r.translations.map((t) => el("option", { value: t, textContent: t, selected: t === data.translation })));
  $("ctx-count").textContent = data.total ? `${data.total} occurrence(s) in the forget corpus${data.total > data.contexts.length ? `, first ${data.contexts.length} shown` : ""}` : "never occurs in the forget corpus";
  $("concordance").replaceChildren(...data.contexts.map((c) => el("div", { className: "ctx" },
    el("div", { className: "orig" }, c.clippedStart ? "… " : "", ...segs(c.original), c.clippedEnd ? " …" : ""),
    el("div", { className: "subst" }, c.clippedStart ? "… " : "", ...segs(c.substituted), c.clippedEnd ? " …" : ""),
    el("div", { className: "src", textContent: `${c.doc} @${c.offset}` }))));
}

// A selection inside an original context proposes that text as a missed term.
document.addEventListener("selectionchange", () => {
  const sel = document.getSelection();
  if (!sel || sel.isCollapsed || !sel.anchorNode) return;
  const node = sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentElement;
  if (!node || !node.closest("#concordance .orig")) return;
  const text = sel.toString().replace(/\s+/g, " ").trim();
  if (text && text.length <= 80) $("add-term").value = text;
});

$("add-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const term = $("add-term").value.trim();
  const body = { term, translations: $("add-translations").value.split("|").map((t) => t.trim()).filter(Boolean), category: $("add-category").value.trim() };
  const { status, data } = await api("POST", "/api/terms", body);
  if (status !== 201) return say(`not added: ${data.error || `HTTP ${status}`}`, "error");
  takeListing(data);
  for (const id of ["add-term", "add-translations"]) $(id).value = "";
  say(`added "${term}" (pending) to ${state.file}`, "ok");
  select(term, true);
});

// ---- keyboard, filters ---------------------------------------------------------------------------
document.addEventListener("keydown", (e) => {
  if ((document.body.dataset.tab || "dictionary") !== "dictionary") return; // a queue tab has its own keys (review-queues.js)
  const t = e.target;
  const inField = t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement;
  if (inField) {
    if (e.key === "Escape") t.blur();
    if (e.key === "Enter" && t instanceof HTMLInputElement && t.closest("#rows")) t.blur(); // blur fires change: saved
    return;
  }
  if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); undo(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const actions = {
    a: () => state.selected && edit(state.selected, { status: "approved" }).then(() => move(1)),
    r: () => state.selected && edit(state.selected, { status: "rejected" }).then(() => move(1)),
    p: () => state.selected && edit(state.selected, { status: "pending" }),
    j: () => move(1), n: () => move(1), ArrowDown: () => move(1),
    k: () => move(-1), ArrowUp: () => move(-1),
    "/": () => $("search").focus(),
    u: () => undo(),
  };
  const act = actions[e.key];
  if (act) { e.preventDefault(); act(); }
});

for (const id of ["search", "filter-status", "filter-flag", "filter-category", "sort"]) $(id).addEventListener("input", () => { state.limit = PAGE; render(); });
$("show-more").addEventListener("click", () => { state.limit += PAGE; render(); });
$("show-all").addEventListener("click", () => { state.limit = Infinity; render(); });
$("undo").addEventListener("click", () => undo());
$("bulk-approve").addEventListener("click", () => bulk("approved"));
$("bulk-reject").addEventListener("click", () => bulk("rejected"));
$("ctx-translation").addEventListener("change", (e) => { state.translation = e.target.value; loadConcordance(); });

api("GET", "/api/rows").then(({ status, data }) => (status === 200 ? takeListing(data) : say(`cannot load the rows: ${data.error || `HTTP ${status}`}`, "error")));
