// The mailworld view: one page, hash routes, plain JS. Everything it shows comes from the JSON API of
// apps/mailview (docs/view.md). Server data only ever enters the page as text (textContent, text nodes,
// attribute values), never as HTML, so a subject like "<b>" or a hostile header stays text.
"use strict";

const main = document.getElementById("main");
const SVG = "http://www.w3.org/2000/svg";
const enc = encodeURIComponent;

// ---- small DOM helpers ---------------------------------------------------------------------------
function add(node, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    node.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return node;
}
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return add(e, kids);
}
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return add(e, kids);
}
const link = (href, ...text) => el("a", { href }, ...text);
function table(cls, head, rows) {
  return el("table", { class: cls },
    el("thead", {}, add(el("tr"), head.map(h => el("th", {}, h)))),
    add(el("tbody"), rows.map(r => add(el("tr"), r.map(c => el("td", {}, c))))));
}
function size(n) {
  if (n === undefined || n === null) return "";
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}
const clock = ts => (ts || "").slice(11, 23);  // "2026-12-01T10:00:00.123Z" -> "10:00:00.123"
const empty = text => el("p", { class: "empty" }, text);

async function api(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}
const messageApi = (server, account, file) => `/api/messages/${enc(server)}/${enc(account)}/${enc(file)}`;
const journeyLink = msgid => msgid ? link(`#/journey/${enc(msgid)}`, msgid) : "";

// ---- routes ----------------------------------------------------------------------------------------
async function topology() {
  const w = await api("/api/world");
  const cards = el("div", { id: "servers" });
  for (const s of w.servers) {
    const ports = Object.entries(s.ports || {}).filter(([, n]) => n).map(([p, n]) => `${p} ${n}`).join(" · ");
    cards.append(el("section", { class: `server ${s.kind} ${s.up ? "up" : "down"}`, "data-name": s.name },
      el("h2", {}, s.name, el("span", { class: "state" }, s.up ? "up" : "down")),
      el("dl", {},
        el("dt", {}, "kind"), el("dd", {}, s.kind),
        el("dt", {}, "domains"), el("dd", {}, (s.domains || []).join(", ") || "—"),
        el("dt", {}, "address"), el("dd", {}, s.address),
        el("dt", {}, "ports"), el("dd", {}, ports),
        el("dt", {}, "TLS"), el("dd", {}, s.tls ? "yes" : "no"),
        s.kind === "mailsrv" && el("dt", {}, "queue"),
        s.kind === "mailsrv" && el("dd", {}, link("#/queue", `${s.queue} entr${s.queue === 1 ? "y" : "ies"}`)))));
  }
  const ev = w.events || {};
  return el("div", {}, el("h2", {}, "Topology"), cards,
    el("p", { class: "meta" }, `events received ${ev.received ?? 0}, dropped ${ev.dropped ?? 0}`));
}

async function mailboxes() {
  const list = await api("/api/mailboxes");
  return el("div", {}, el("h2", {}, "Mailboxes"), list.length ? table("list", ["server", "account", "messages", "size"],
    list.map(m => [m.server, link(`#/mailbox/${enc(m.server)}/${enc(m.account)}`, m.account), m.messages, size(m.octets)]))
    : empty("no accounts"));
}

async function mailbox(server, account) {
  const box = await api(`/api/mailboxes/${enc(server)}/${enc(account)}`);
  return el("div", {}, el("h2", {}, `${account} at ${server}`), box.messages.length
    ? table("list", ["#", "from", "to", "subject", "date", "size", "seen", "journey"], box.messages.map(m => [
      m.n, m.from, m.to,
      link(`#/message/${enc(server)}/${enc(account)}/${enc(m.file)}`, m.subject || "(no subject)"),
      m.date, size(m.size), m.seen ? "yes" : "no", journeyLink(m.msgid)]))
    : empty("no messages"));
}

function mimeTree(part) {
  const label = [part.type, part.filename && `"${part.filename}"`, size(part.size), part.part && `part ${part.part}`]
    .filter(Boolean).join("  ");
  const li = el("li", {}, label);
  if (part.children && part.children.length) li.append(add(el("ul"), part.children.map(mimeTree)));
  return li;
}

async function message(server, account, file) {
  const base = messageApi(server, account, file);
  const m = await api(base);
  const subject = (m.headers.find(([n]) => n.toLowerCase() === "subject") || [, "(no subject)"])[1];
  return el("div", { class: "message" },
    el("h2", {}, subject),
    el("p", { class: "meta" }, link(`#/mailbox/${enc(server)}/${enc(account)}`, `${account} at ${server}`), " · ",
      el("a", { href: `${base}/raw`, class: "raw", target: "_blank" }, "raw source"),
      m.msgid && " · journey: ", journeyLink(m.msgid)),
    el("h3", {}, "Headers"), table("headers", ["name", "value"], m.headers),
    el("h3", {}, "MIME structure"), el("ul", { class: "mime" }, mimeTree(m.mime)),
    el("h3", {}, "Text"), el("pre", { class: "text" }, m.text || ""),
    el("h3", {}, "Attachments"), m.attachments.length ? add(el("ul", { class: "attachments" }, ), m.attachments.map(a =>
      el("li", {}, el("a", { class: "attachment", href: `${base}/part/${enc(a.part)}`, download: a.filename || `part-${a.part}` },
        a.filename || `part ${a.part}`), ` ${a.type}, ${size(a.size)}`)))
      : empty("none"));
}

async function queue() {
  const entries = await api("/api/queue");
  const rows = [];
  for (const q of entries)
    for (const r of q.recipients || [])
      rows.push([q.server, q.id, q.from, r.address, el("span", { class: `state ${r.state}` }, r.state), r.attempts,
        r.next_retry || "", el("span", { class: "reply" }, r.last || "")]);
  return el("div", {}, el("h2", {}, "Queues"), rows.length
    ? table("list", ["server", "id", "from", "recipient", "state", "attempts", "next retry", "last outcome"], rows)
    : empty("every queue is empty"));
}

async function sessions() {
  const list = await api("/api/sessions?limit=200");
  return el("div", {}, el("h2", {}, "Sessions"), list.length
    ? table("list", ["started", "server", "protocol", "side", "parties", "lines", "messages"], list.map(s => [
      clock(s.started), s.server, link(`#/session/${enc(s.server)}/${enc(s.sid)}`, `${s.proto} #${s.sid}`), s.side,
      `${s.from_party} → ${s.to_party}`, s.lines, add(el("span"), (s.msgids || []).map(journeyLink))]))
    : empty("no sessions yet"));
}

async function session(server, sid) {
  const s = await api(`/api/sessions/${enc(server)}/${enc(sid)}`);
  const diagram = sequence([{ rows: sessionRows(s) }], [s.from_party, s.to_party]);
  return el("div", {},
    el("h2", {}, `${s.proto} session #${s.sid} at ${s.server}`),
    el("p", { class: "meta" }, `${s.side} side · local ${s.local} · peer ${s.peer} · ${clock(s.started)} – ${clock(s.ended) || "open"}`,
      (s.msgids || []).length ? " · messages: " : "", add(el("span"), (s.msgids || []).map(journeyLink))),
    el("div", { class: "diagram" }, diagram));
}

async function journeys() {
  const list = await api("/api/journeys?limit=200");
  return el("div", {}, el("h2", {}, "Journeys"), list.length
    ? table("list", ["first", "last", "message", "subject", "from", "to", "steps"], list.map(j => [
      clock(j.first), clock(j.last), journeyLink(j.msgid), j.subject, j.from, j.to, j.steps]))
    : empty("no messages seen yet"));
}

async function journey(msgid) {
  const j = await api(`/api/journey/${enc(msgid)}`);
  // The sessions the steps point to: their lines become the arrows of the step. Only those the history
  // holds (`session`): one that left the bounded history, or a relay attempt's lookups on a cached
  // connection (a sid no session has), shows as one arrow with its summary. A 404 can still come (the
  // history moved on meanwhile); the step then shows the same way.
  // A relay hop's receiving session (peer_sid at the receiver) repeats the sender's: drawn once.
  const peers = new Set(j.steps.filter(s => s.peer_sid).map(s => `${s.to}\n${s.peer_sid}`));
  const keys = [...new Set(j.steps.filter(s => s.sid && s.session).map(s => `${s.server}\n${s.sid}`))].filter(k => !peers.has(k));
  const found = new Map(await Promise.all(keys.map(async k => {
    const [server, sid] = k.split("\n");
    const r = await fetch(`/api/sessions/${enc(server)}/${enc(sid)}`);
    return [k, r.ok ? await r.json() : null];
  })));
  // Each transcript is drawn once, under the first step of its session that is not a DNS lookup (the
  // relay attempt's lookups carry its sid too, and come before it).
  const owner = new Map();
  j.steps.forEach((st, i) => {
    const key = `${st.server}\n${st.sid}`;
    if (st.sid && !peers.has(key) && (!owner.has(key) || j.steps[owner.get(key)].kind === "dns" && st.kind !== "dns"))
      owner.set(key, i);
  });
  const groups = j.steps.map((st, i) => {
    const key = `${st.server}\n${st.sid}`;
    const s = st.sid && found.get(key);
    let rows;
    if (s && owner.get(key) === i && s.events && s.events.length) {
      rows = sessionRows(s);
    } else {
      // No transcript: one arrow with the summary, or a note where the step stays at one party.
      rows = [st.from && st.to && st.from !== st.to ? { from: st.from, to: st.to, dir: "x", text: st.summary, ts: st.ts }
        : { note: st.to || st.from || st.server, text: st.summary, ts: st.ts }];
    }
    return { kind: st.kind, heading: `${i + 1}. ${st.kind}: ${st.from} → ${st.to}`, rows };
  });
  const steps = table("list steps", ["time", "step", "from", "to", "summary", "session"], j.steps.map(st => [
    clock(st.ts), st.kind, st.from, st.to, st.summary,
    st.sid ? link(`#/session/${enc(st.server)}/${enc(st.sid)}`, `${st.server} #${st.sid}`) : ""]));
  return el("div", {}, el("h2", {}, "Journey of ", el("code", {}, j.msgid)), steps,
    el("div", { class: "diagram" }, sequence(groups, j.steps.flatMap(st => [st.from, st.to]))));
}

const ROUTES = [
  [/^\/?$/, topology],
  [/^\/mailboxes$/, mailboxes],
  [/^\/mailbox\/([^/]+)\/([^/]+)$/, mailbox],
  [/^\/message\/([^/]+)\/([^/]+)\/([^/]+)$/, message],
  [/^\/queue$/, queue],
  [/^\/sessions$/, sessions],
  [/^\/session\/([^/]+)\/([^/]+)$/, session],
  [/^\/journeys$/, journeys],
  [/^\/journey\/(.+)$/, journey],
];

// ---- sequence diagrams -----------------------------------------------------------------------------
// A session's events as diagram rows: c = client -> server, s = server -> client, note = a remark at
// the server that recorded it.
function sessionRows(s) {
  const client = s.from_party, server = s.to_party;
  const at = s.server === client ? client : server;
  return (s.events || []).map(e => e.dir === "note" ? { note: at, text: e.line, ts: e.ts }
    : { from: e.dir === "c" ? client : server, to: e.dir === "c" ? server : client, dir: e.dir, text: e.line, ts: e.ts });
}

const MAX_LABEL = 90, CHAR_W = 7.2, ROW = 22, COL = 260, LEFT = 100, TOP = 44;

// groups: [{kind?, heading?, rows: [{from, to, dir, text, ts} | {note, text, ts}]}] -> <svg class="sequence">;
// order: the parties to put first, left to right (the others follow as they appear).
function sequence(groups, order = []) {
  const parties = [];
  const see = p => { if (p !== undefined && !parties.includes(p)) parties.push(p); };
  order.forEach(see);
  for (const g of groups) for (const r of g.rows) { see(r.from); see(r.to); see(r.note); }
  const x = p => LEFT + COL / 2 + parties.indexOf(p) * COL;
  const cut = t => (t.length > MAX_LABEL ? t.slice(0, MAX_LABEL - 1) + "…" : t);

  const root = svg("svg", { class: "sequence", xmlns: SVG });
  root.append(svg("defs", {}, ...["c", "s", "x"].map(d =>
    svg("marker", { id: `head-${d}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: `head ${d}` })))));
  const lifelines = svg("g", { class: "lifelines" });
  root.append(lifelines);
  const bands = [];
  let y = TOP, right = LEFT + parties.length * COL;

  for (const g of groups) {
    const group = svg("g", g.kind ? { class: "journey-step", "data-kind": g.kind } : { class: "rows" });
    if (g.heading) {
      y += ROW;
      const band = svg("rect", { class: "band", x: 0, y: y - 15, height: ROW, width: 0 });
      bands.push(band);
      group.append(band, svg("text", { class: "heading", x: 8, y }, g.heading));
    }
    for (const r of g.rows) {
      y += ROW;
      const label = cut(r.text || "");
      const item = svg("g", {}, svg("title", {}, r.text || ""), svg("text", { class: "time", x: 8, y }, clock(r.ts)));
      if (r.note !== undefined) {
        // A note hangs right of its lifeline, or left of it at the rightmost party.
        const w = label.length * CHAR_W + 12;
        const nx = parties.length > 1 && r.note === parties.at(-1) ? Math.max(LEFT, x(r.note) + 20 - w) : x(r.note) - 20;
        item.setAttribute("class", "note");
        item.append(svg("rect", { x: nx, y: y - 14, width: w, height: 18, rx: 3 }),
          svg("text", { class: "note", x: nx + 6, y }, label));
        right = Math.max(right, nx + w + 10);
      } else {
        const x1 = x(r.from), x2 = x(r.to), lx = Math.min(x1, x2) + 8;
        item.setAttribute("class", `arrow ${r.dir}`);
        item.dataset.from = r.from;
        item.dataset.to = r.to;
        item.append(svg("line", { x1, x2, y1: y + 4, y2: y + 4, "marker-end": `url(#head-${r.dir === "s" ? "s" : r.dir === "c" ? "c" : "x"})` }),
          svg("text", { class: "msg", x: lx, y }, label));
        right = Math.max(right, lx + label.length * CHAR_W + 10);
      }
      group.append(item);
    }
    root.append(group);
  }
  const height = y + ROW * 2;
  for (const p of parties) {
    lifelines.append(svg("line", { class: "lifeline", x1: x(p), x2: x(p), y1: TOP - 8, y2: height - 4 }),
      svg("rect", { class: "party", x: x(p) - COL / 2 + 14, y: 4, width: COL - 28, height: 26, rx: 4 }),
      svg("text", { class: "party", x: x(p), y: 22 }, p));
  }
  for (const b of bands) b.setAttribute("width", right);
  root.setAttribute("width", right);
  root.setAttribute("height", height);
  root.setAttribute("viewBox", `0 0 ${right} ${height}`);
  return root;
}

// ---- rendering and live updates ----------------------------------------------------------------------
let shown = null, rendering = 0;

async function render() {
  const path = location.hash.slice(1) || "/";
  const ticket = ++rendering;
  let node;
  try {
    const route = ROUTES.find(([re]) => re.test(path));
    if (!route) throw new Error(`no such page: ${path}`);
    const args = route[0].exec(path).slice(1).map(decodeURIComponent);
    node = await route[1](...args);
  } catch (e) {
    console.error(`mailview: ${e.message}`);
    node = el("p", { class: "error" }, `could not show this page: ${e.message}`);
  }
  if (ticket !== rendering) return;  // a newer render started meanwhile
  const keep = shown === path ? window.scrollY : 0;  // a live refresh keeps the reader's place
  main.replaceChildren(node);
  main.dataset.route = path;  // which route the content shows (tests wait for it after a hash change)
  window.scrollTo(0, keep);
  shown = path;
  const section = "#/" + ({ mailbox: "mailboxes", message: "mailboxes", session: "sessions", journey: "journeys" }[path.split("/")[1]]
    ?? path.split("/")[1]);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("current", a.getAttribute("href") === section);
}

let pending = null;
function changed() {  // at most one re-fetch per 300 ms however many changes arrive
  if (!pending) pending = setTimeout(() => { pending = null; render(); }, 300);
}

const liveBadge = document.getElementById("live");
function setLive(text) { liveBadge.textContent = text; liveBadge.className = text; }

// The first answer counts as a change too: whatever happened since the page was fetched is shown.
function poll() {
  setLive("polling");
  let seq = null;
  const check = async () => {
    try {
      const v = await api("/api/version");
      if (v.seq !== seq) changed();
      seq = v.seq;
      setLive("polling");
    } catch (e) {
      setLive("offline");
    }
  };
  check();
  setInterval(check, 2000);
}

function live() {
  if (!window.EventSource) return poll();
  const es = new EventSource("/api/stream");
  es.addEventListener("change", changed);
  es.onopen = () => { setLive("live"); changed(); };  // catch up on what happened while not listening
  // The browser reconnects by itself after a dropped stream; CLOSED means it gave up (no stream here).
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) { es.close(); poll(); } else setLive("reconnecting"); };
}

window.addEventListener("hashchange", render);
render();
live();
