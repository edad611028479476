// The live alerts page: cards (one per entry and day) from /api/cards, then live over /api/events.
"use strict";

const cards = new Map();          // card key -> {data, node}
const seenAlerts = new Set();     // alert ids of the newest pass of each card, as shown
window.anprLatencies = [];        // ms from alert on the topic to card on screen (read by the tests)
let map = null;
let audio = null;
let federation = null;            // this console's place in a federation (/api/me), null outside one

function plate(node, text, marks) {
  node.replaceChildren();
  const marked = new Set(marks);
  [...text].forEach((ch, i) => node.append(el("span", marked.has(i) ? {class: "diff"} : {}, ch)));
}

function describeVerdict(v) {
  if (!v) return "not answered";
  const what = {confirmed: "confirmed", false_hit: "false hit", no_action: "no action taken"}[v.outcome];
  const when = new Date(v.at_ms).toISOString().slice(11, 19);
  return `${what}${v.reason ? " (" + v.reason.replaceAll("_", " ") + ")" : ""} by ${v.by} at ${when}Z`;
}

function render(card) {
  let entry = cards.get(card.key);
  if (!entry) {
    const node = $("card").content.firstElementChild.cloneNode(true);
    node.querySelectorAll(".verdict button").forEach(b => b.onclick = () => answer(node, b.dataset.outcome));
    entry = {node};
    cards.set(card.key, entry);
  }
  const n = entry.node;
  entry.data = card;
  n.dataset.key = card.key;
  n.dataset.alertId = card.alert_id;
  n.classList.toggle("high", card.high);
  n.classList.toggle("covert", card.covert);
  n.classList.toggle("answered", !!card.verdict);
  plate(n.querySelector(".plate.read"), card.plate_read, card.marks_read);
  plate(n.querySelector(".plate.listed"), card.plate_listed, card.marks_listed);
  n.querySelector(".raw").textContent = `OCR: ${JSON.stringify(card.plate_text)}${card.plate_country ? " " + card.plate_country : ""}`;
  n.querySelector(".priority").textContent = `P${card.priority}`;
  n.querySelector(".list").textContent = card.list_name + (card.covert ? " (covert)" : "");
  n.querySelector(".category").textContent = card.category.replaceAll("_", " ");
  n.querySelector(".action").textContent = card.action.replaceAll("_", " ") + (card.note ? ": " + card.note : "");
  const how = card.kind === "exact" ? "exact" :
    `${card.kind.replaceAll("_", " ")} (${card.equivalences + card.differences} char.)`;
  n.querySelector(".match").textContent =
    `${how}, score ${card.score.toFixed(2)}${card.country_mismatch ? ", plate country differs" : ""}${card.retro ? ", retro (read before listing)" : ""}`;
  n.querySelector(".agency").textContent = `listed by ${card.agency} (${card.agency_country})`;
  n.querySelector(".site").textContent = card.site;
  n.querySelector(".camera").textContent =
    `${card.camera_id} (${card.camera_country}), lane ${card.lane}, ${card.direction}, ${new Date(card.ts_ms).toISOString().replace("T", " ").slice(0, 19)}Z`;
  const seen = n.querySelector(".seen");  // at a party: hits made abroad; at the centre: every card's party
  seen.hidden = !(card.abroad || (federation && federation.role === "centre"));
  seen.textContent = `seen in ${card.party.toUpperCase()}`;
  seen.classList.toggle("abroad", card.abroad);
  const flow = n.querySelector(".flow");
  flow.textContent = card.flow ? `cross-border ${card.flow}` : "domestic";
  flow.classList.toggle("cross", !!card.flow);
  const where = Object.entries(card.sites).map(([s, c]) => `${s} ×${c}`).join(", ");
  n.querySelector(".passes").textContent =
    `${card.passes} pass${card.passes === 1 ? "" : "es"} on ${card.day}: ${where}; ${card.answered} answered`;
  n.querySelector(".state").textContent = describeVerdict(card.verdict);
  if (map) drawMap(n.querySelector(".minimap"), map, 100, 100, s => s === card.site ? [7, "here", s] : null);
  filterOne(entry);
  return entry;
}

function newestFirst(entry) {
  const main = $("cards");
  if (main.firstElementChild !== entry.node) main.prepend(entry.node);
}

async function answer(node, outcome) {
  const body = {alert_id: node.dataset.alertId, outcome};
  if (outcome === "false_hit") body.reason = node.querySelector(".reason").value;
  node.querySelectorAll(".verdict button").forEach(b => b.disabled = true);
  node.querySelector(".state").textContent = "recording…";
  const r = await fetch("/api/feedback", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify(body)});
  node.querySelectorAll(".verdict button").forEach(b => b.disabled = false);
  if (!r.ok) node.querySelector(".state").textContent = `not recorded: ${(await r.json()).error}`;
}

function addOption(select, value) {
  if (![...select.options].some(o => o.value === value)) select.append(el("option", {value}, value));
}

function filterOne(entry) {
  const c = entry.data;
  const country = $("f-country").value, list = $("f-list").value;
  const prio = $("f-priority").value, cross = $("f-cross").checked, seen = $("f-seen").value;
  addOption($("f-country"), c.camera_country);
  addOption($("f-country"), c.agency_country);
  addOption($("f-list"), c.list_name);
  const show = (!country || c.camera_country === country || c.agency_country === country)
    && (!list || c.list_name === list) && (prio === "" || c.priority <= Number(prio)) && (!cross || c.cross_border)
    && (!seen || (seen === "abroad" ? c.abroad : seen === "here" ? !c.abroad : c.party === seen));
  entry.node.hidden = !show;
}

function countShown() {
  $("shown").textContent = `${[...cards.values()].filter(e => !e.node.hidden).length} of ${cards.size} cards shown`;
}

function filterAll() {
  cards.forEach(filterOne);
  countShown();
}

function beep() {
  if (!$("f-sound").checked) return;
  audio = audio || new AudioContext();
  const o = audio.createOscillator();
  o.frequency.value = 880;
  o.connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.25);
}

function showOverdue(rows) {
  $("overdue").hidden = rows.length === 0;
  $("overdue-list").replaceChildren(...rows.map(r => el("li", {},
    `${r.entry_id ? "entry " + r.entry_id + " of " : ""}list ${r.list_name} (${r.agency}): ${r.unanswered} hits unanswered`)));
}

let loading = false;
const held = [];  // live cards that came while the first screen was loading: applied after it

function takeLive(list) {
  if (loading) { held.push(list); return; }
  const now = Date.now();
  for (const card of list) {
    const isNew = !seenAlerts.has(card.alert_id);
    const entry = render(card);
    if (isNew) {
      seenAlerts.add(card.alert_id);
      window.anprLatencies.push(now - card.kafka_ts_ms);
      newestFirst(entry);
      if (card.high && !entry.node.hidden) beep();
    }
  }
  countShown();
}

async function loadCards() {
  loading = true;
  try {
    const snap = await (await fetch("/api/cards")).json();
    $("cards").replaceChildren();
    cards.clear();
    for (const card of snap.cards.reverse()) {
      seenAlerts.add(card.alert_id);
      newestFirst(render(card));
    }
    showOverdue(snap.overdue);
  } finally {
    loading = false;
  }
  held.splice(0).forEach(takeLive);
  filterAll();
}

function connect() {
  const source = new EventSource("/api/events");
  let first = true;
  source.addEventListener("hello", async () => {
    $("connection").textContent = "live";
    $("connection").className = "connection live";
    await loadCards();  // the first screen, or what came while disconnected
    if (first) document.body.dataset.ready = "1";
    first = false;
  });
  source.addEventListener("cards", ev => takeLive(JSON.parse(ev.data)));
  source.addEventListener("overdue", ev => showOverdue(JSON.parse(ev.data)));
  source.onerror = () => {
    $("connection").textContent = "connection lost: reconnecting…";
    $("connection").className = "connection lost";
  };
}

// The filter "seen": at a party here, abroad, or in one partner's territory; at the centre one party's.
function federate(me) {
  federation = me.federation;
  $("read-only").hidden = !me.read_only;
  if (me.read_only) $("card").content.querySelectorAll(".verdict button, .verdict select").forEach(e => e.remove());
  if (!federation) return;
  $("f-seen-label").hidden = false;
  const options = federation.role === "centre" ? [] : [["here", `here (${federation.party.toUpperCase()})`], ["abroad", "abroad"]];
  options.push(...federation.partners.map(p => [p, `in ${p.toUpperCase()}`]));
  for (const [value, text] of options) $("f-seen").append(el("option", {value}, text));
}

(async () => {
  const me = await whoAmI();
  if (!me.sees_plates) { location.href = "/shared"; return; }
  federate(me);
  map = await loadMap();
  for (const id of ["f-country", "f-list", "f-priority", "f-cross", "f-seen"]) {
    $(id).addEventListener("input", filterAll);
    $(id).addEventListener("change", filterAll);
  }
  connect();
})();
