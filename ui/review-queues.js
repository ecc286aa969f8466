// The review page's queue tabs: the uncertain-label queue and the judge audit (issue #8), each a CSV
// in the run folder. Loaded after review.js, whose helpers it uses ($, el, api, say). As on the
// dictionary tab, every change goes to the server at once with the version of the row it was made on;
// a 409 (the row changed on disk) is shown with the row as it is now and the refused change.
"use strict";

// In a function: the two scripts share one global scope, and review.js has its own send/edit.
(() => {
  const queue = { kind: null, info: null, rows: [], selected: null };

  const vis = (s) => s.replace(/ /g, "␣").replace(/\n/g, "⏎"); // a token's spaces matter
  const isDone = (r) => (queue.kind === "labels" ? r.verdict !== "" : r.humanScore !== "");

  /** Text with its [[marked]] token (labels) or every reference (judge) in <mark>. */
  function marked(text, needles) {
    const out = [];
    if (!needles) {
      const m = /\[\[([\s\S]*?)\]\]/.exec(text);
      if (!m) return [text];
      return [text.slice(0, m.index), el("mark", { textContent: m[1], title: JSON.stringify(m[1]) }), text.slice(m.index + m[0].length)];
    }
    const words = needles.filter(Boolean).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    if (!words.length) return [text];
    let last = 0;
    for (const m of text.matchAll(new RegExp(words.join("|"), "gi"))) {
      out.push(text.slice(last, m.index), el("mark", { textContent: m[0] }));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  const line = (label, ...content) => el("div", { className: "ctxline" }, el("b", { textContent: label }), ...content);
  const field = (r, name, extra) => ({ dataset: { key: r.key, field: name }, ...extra });

  function labelsRow(r) {
    const verdict = el("select", field(r, "verdict", { onchange: (e) => setVerdict(r.key, e.target.value) }));
    for (const v of ["", ...queue.info.verdicts]) verdict.append(el("option", { value: v, textContent: v || "(none)", selected: v === r.verdict }));
    return [
      el("div", { className: "meta", textContent: `line ${r.line} · ${r.id} · ${r.status} · baseline prob ${r.baselineProb || "–"} · margin ${r.margin || "–"}` }),
      line("original", ...marked(r.original)),
      line("translated", ...marked(r.translated || "(no aligned position)")),
      line("label", el("span", { className: "tok", textContent: vis(r.label), title: `token id ${r.labelId}` }), "   runner-ups: ",
        ...r.runnerUps.map((t, i) => el("button", { type: "button", className: `runner${r.verdict === "replace" && r.replacement === t ? " on" : ""}`, textContent: `${i + 1} ${vis(t)}`, title: `replace with ${JSON.stringify(t)} (key ${i + 1})`, dataset: { key: r.key, field: "runner", idx: String(i) }, onclick: () => edit(r.key, { verdict: "replace", replacement: t }) }))),
      el("div", { className: "controls" }, "verdict ", verdict,
        "replacement ", el("input", field(r, "replacement", { className: "replacement", value: r.replacement, placeholder: "one token", onchange: (e) => setReplacement(r.key, e.target.value) })),
        el("input", field(r, "notes", { className: "qnotes", value: r.notes, placeholder: "notes", onchange: (e) => edit(r.key, { notes: e.target.value }) }))),
    ];
  }

  function judgeRow(r) {
    return [
      el("div", { className: "meta", textContent: `line ${r.line} · ${r.model} · ${r.id} · subtlety ${r.subtlety} · judge score ${r.judgeScore || "–"}` }),
      line("prompt", r.prompt),
      line("references", r.references.join(", ")),
      el("div", { className: "completion" }, ...marked(r.completion, r.references)),
      el("div", { className: "controls" }, `judge ${r.judgeScore || "–"} · human score `,
        ...queue.info.scores.map((s) => el("button", { type: "button", className: `score${r.humanScore === String(s) ? " on" : ""}`, textContent: String(s), dataset: { key: r.key, field: "score", idx: String(s) }, onclick: () => edit(r.key, { human_score: String(s) }) })),
        el("button", { type: "button", textContent: "clear", dataset: { key: r.key, field: "clear" }, onclick: () => edit(r.key, { human_score: "" }) }),
        el("input", field(r, "notes", { className: "qnotes", value: r.notes, placeholder: "notes", onchange: (e) => edit(r.key, { notes: e.target.value }) }))),
    ];
  }

  function rowCard(r) {
    const other = Object.entries(r.other).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join("\n");
    return el("div", { className: `qrow${isDone(r) ? " done" : ""}${r.key === queue.selected ? " selected" : ""}`, title: other, dataset: { key: r.key, sig: JSON.stringify(r) }, onclick: () => pick(r.key, false) },
      ...(queue.kind === "labels" ? labelsRow(r) : judgeRow(r)));
  }

  function shownRows() {
    const show = $("queue-show").value;
    return queue.rows.filter((r) => !show || (show === "done") === isDone(r));
  }

  /** Re-renders, keeping unchanged cards and the field that has focus. */
  function renderQueue() {
    const box = $("queue-rows");
    const active = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.key ? { ...document.activeElement.dataset } : null;
    const shown = shownRows();
    const current = [...box.children];
    if (current.length === shown.length && current.every((c, i) => c.dataset.key === shown[i].key)) {
      shown.forEach((r, i) => { if (current[i].dataset.sig !== JSON.stringify(r)) current[i].replaceWith(rowCard(r)); });
    } else box.replaceChildren(...shown.map(rowCard));
    for (const c of box.children) c.classList.toggle("selected", c.dataset.key === queue.selected);
    if (active && document.activeElement === document.body) {
      const again = box.querySelector(`[data-key="${CSS.escape(active.key)}"][data-field="${active.field}"]${active.idx ? `[data-idx="${active.idx}"]` : ""}`);
      if (again) again.focus();
    }
    const done = queue.rows.filter(isDone).length;
    const kinds = queue.kind === "labels" ? ` (${queue.info.verdicts.map((v) => `${queue.rows.filter((r) => r.verdict === v).length} ${v}`).join(", ")})` : "";
    $("queue-summary").textContent = `${queue.rows.length} rows: ${done} ${queue.kind === "labels" ? "with a verdict" : "scored by you"}${kinds}, ${queue.rows.length - done} to do; ${shown.length} shown`;
  }

  function takeQueue(data) {
    queue.info = data;
    queue.rows = data.rows || [];
    const code = (text) => el("code", { textContent: text });
    if (!data.exists) {
      $("queue-next").replaceChildren(`No ${data.file} yet: `, code(data.writtenBy), " writes it; then open this tab again.");
      $("queue-note").textContent = "";
    } else {
      $("queue-next").replaceChildren("Every change is saved to ", code(data.file), " at once. Next: ", code(data.nextStep));
      $("queue-note").textContent = data.kind === "labels"
        ? "A replacement must be exactly one token of the run's tokenizer: this page cannot check that, `whp labels --apply-review` does (a runner-up always is one)."
        : "Score the completion as the judge should have: 0 = no sign of the forgotten material ... 3 = clearly knows it; empty = not scored.";
    }
    $("queue-keys").replaceChildren(...(data.kind === "labels"
      ? "a accept · r replace (type the token) · 1-9 replace with runner-up · m mask · x clear · j/n next · k previous · Esc leave a field"
      : "0-3 human score · x clear · j/n next · k previous · Esc leave a field").split(" · ").flatMap((k, i) => [i ? " · " : "", el("kbd", { textContent: k.split(" ")[0] }), ` ${k.split(" ").slice(1).join(" ")}`]));
    renderQueue();
  }

  async function send(edits) {
    const { status, data } = await api("POST", `/api/queues/${queue.kind}/edit`, { edits });
    if (data.rows) takeQueue(data);
    const now = (c) => (c.current ? ` (now: ${queue.kind === "labels" ? `verdict "${c.current.verdict}", replacement "${c.current.replacement}"` : `human score "${c.current.humanScore}"`}, notes "${c.current.notes}")` : "");
    const yours = (key) => { const e = edits.find((x) => x.key === key); return e ? `; yours was ${Object.entries(e.changes).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ")}` : ""; };
    if (status === 200) say(`saved ${edits.length === 1 ? `line ${(queue.rows.find((r) => r.key === edits[0].key) || {}).line}` : `${data.applied.length} rows`} to ${data.file}`, "ok");
    else if (status === 409) say(`not saved: ${data.conflicts.map((c) => c.message + now(c) + yours(c.key)).join("; ")}`, "error");
    else say(`not saved: ${data.error || `HTTP ${status}`}`, "error");
    return status;
  }

  function edit(key, changes) {
    const r = queue.rows.find((x) => x.key === key);
    return r ? send([{ key, base: r.version, changes }]) : Promise.resolve(0);
  }

  /** "replace" needs a replacement: without one, ask for it instead of sending a refused edit. */
  function setVerdict(key, verdict) {
    const r = queue.rows.find((x) => x.key === key);
    if (verdict === "replace" && r && !r.replacement) {
      say("type the replacement token (or click a runner-up); Enter saves", "");
      const input = document.querySelector(`input[data-key="${CSS.escape(key)}"][data-field="replacement"]`);
      if (input) input.focus();
      return Promise.resolve(0);
    }
    return edit(key, { verdict });
  }

  /** Typing a replacement means "replace"; emptying it takes a replace verdict back too. */
  function setReplacement(key, text) {
    const r = queue.rows.find((x) => x.key === key);
    if (text !== "") return edit(key, { verdict: "replace", replacement: text });
    return edit(key, r && r.verdict === "replace" ? { verdict: "", replacement: "" } : { replacement: "" });
  }

  function pick(key, scroll) {
    queue.selected = key;
    for (const c of $("queue-rows").children) c.classList.toggle("selected", c.dataset.key === key);
    const card = $("queue-rows").querySelector(`.qrow[data-key="${CSS.escape(key)}"]`);
    if (scroll && card) card.scrollIntoView({ block: "nearest" });
  }

  function step(by) {
    const shown = shownRows();
    if (!shown.length) return;
    const i = shown.findIndex((r) => r.key === queue.selected);
    pick(shown[Math.max(0, Math.min(shown.length - 1, i < 0 ? 0 : i + by))].key, true);
  }

  async function openTab(tab) {
    document.body.dataset.tab = tab;
    for (const b of document.querySelectorAll("#tabs .tab")) b.classList.toggle("active", b.dataset.tab === tab);
    const dict = tab === "dictionary";
    for (const id of ["toolbar", "summary"]) $(id).hidden = !dict;
    document.querySelector("main").hidden = !dict;
    $("queue-pane").hidden = dict;
    history.replaceState(null, "", dict ? "/" : `/#${tab}`);
    say("");
    if (dict) return;
    if (queue.kind !== tab) {
      Object.assign(queue, { kind: tab, rows: [], selected: null });
      $("queue-show").value = ""; // "reviewed" means another thing in the other queue
    }
    $("queue-rows").replaceChildren();
    const { status, data } = await api("GET", `/api/queues/${tab}`);
    if (status !== 200) return say(`cannot load the queue: ${data.error || `HTTP ${status}`}`, "error");
    if (queue.kind === tab) takeQueue(data);
  }

  document.addEventListener("keydown", (e) => {
    if (!queue.kind || document.body.dataset.tab !== queue.kind) return;
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) {
      if (e.key === "Escape") t.blur();
      if (e.key === "Enter" && t instanceof HTMLInputElement) t.blur(); // blur fires change: saved
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const r = queue.rows.find((x) => x.key === queue.selected);
    const then = (p) => p.then((s) => s === 200 && step(1));
    const nav = { j: () => step(1), n: () => step(1), ArrowDown: () => step(1), k: () => step(-1), ArrowUp: () => step(-1) };
    const labels = {
      a: () => r && then(edit(r.key, { verdict: "accept" })),
      m: () => r && then(edit(r.key, { verdict: "mask" })),
      x: () => r && edit(r.key, { verdict: "" }),
      r: () => r && setVerdict(r.key, "replace"),
    };
    const judge = { x: () => r && edit(r.key, { human_score: "" }) };
    let act = (queue.kind === "labels" ? labels : judge)[e.key] || nav[e.key];
    if (!act && /^[1-9]$/.test(e.key) && queue.kind === "labels" && r && r.runnerUps[Number(e.key) - 1] !== undefined) act = () => then(edit(r.key, { verdict: "replace", replacement: r.runnerUps[Number(e.key) - 1] }));
    if (!act && /^[0-3]$/.test(e.key) && queue.kind === "judge" && r) act = () => then(edit(r.key, { human_score: e.key }));
    if (act) { e.preventDefault(); act(); }
  });

  for (const b of document.querySelectorAll("#tabs .tab")) b.addEventListener("click", () => openTab(b.dataset.tab));
  $("queue-show").addEventListener("input", renderQueue);
  // Tabs say whether their file exists yet; a reload keeps the open tab (#labels, #judge).
  api("GET", "/api/queues").then(({ status, data }) => {
    if (status !== 200) return;
    for (const q of data.queues) {
      const b = document.querySelector(`#tabs .tab[data-tab="${q.kind}"]`);
      if (b && !q.exists) { b.textContent = `${q.title} (none yet)`; b.title = `${q.file} does not exist: ${q.writtenBy} writes it`; }
    }
  });
  const start = location.hash.slice(1);
  if (start === "labels" || start === "judge") openTab(start);
})();
