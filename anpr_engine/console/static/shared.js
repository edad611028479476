// The shared view: counts from /api/shared for the chosen period, fetched again when they change.
"use strict";

let map = null;
let federated = false;  // the tables get a party column in a federation

function query() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  if ($("party").value) q.set("party", $("party").value);
  return q.toString();
}

// Rows of one table per party summed per key (for the charts and the map), in the rows' order.
function byKey(rows) {
  const out = new Map();
  for (const r of rows) {
    const s = out.get(r.key) || {key: r.key, hits: 0, cross_border: 0};
    s.hits += r.hits;
    s.cross_border += r.cross_border;
    out.set(r.key, s);
  }
  return [...out.values()];
}

function table(id, rows, cols) {
  const t = $(id);
  t.replaceChildren(el("tr", {}));
  cols.forEach(([, title]) => t.firstChild.append(el("th", {}, title)));
  for (const r of rows) {
    const tr = el("tr", {"data-key": r.key ?? `${r.list_name}|${r.match_kind}`, "data-party": r.party ?? r.key});
    cols.forEach(([k]) => tr.append(el("td", {class: k}, typeof r[k] === "number" && !Number.isInteger(r[k]) ? r[k].toFixed(3) : String(r[k]))));
    t.append(tr);
  }
}

function bars(svg, rows, width, height, label) {
  svg.replaceChildren();
  const most = Math.max(1, ...rows.map(r => r.hits));
  const w = Math.min(48, width / Math.max(rows.length, 1));
  rows.forEach((r, i) => {
    const h = (height - 20) * r.hits / most, hc = (height - 20) * r.cross_border / most;
    const g = el("g", {"data-key": r.key});
    g.append(el("rect", {x: i * w + 1, y: height - 16 - h, width: w - 2, height: h, class: "bar"}));
    g.append(el("rect", {x: i * w + 1, y: height - 16 - hc, width: w - 2, height: hc, class: "bar cross"}));
    g.append(el("title", {}, `${r.key}: ${r.hits} hits, ${r.cross_border} cross-border`));
    if (rows.length <= 31 || i % Math.ceil(rows.length / 31) === 0)
      g.append(el("text", {x: i * w + w / 2, y: height - 3, class: "axis"}, label(r.key)));
    svg.append(g);
  });
}

async function refresh() {
  const v = await (await fetch("/api/shared?" + query())).json();
  $("csv").href = "/api/shared.csv?" + query();
  $("csv-hours").href = "/api/shared-hours.csv?" + query();
  $("hits").textContent = v.hits;
  $("cross").textContent = v.cross_border;
  $("share").textContent = v.cross_border_share === null ? "–" : (100 * v.cross_border_share).toFixed(1) + " %";
  $("trend").textContent = v.trend_per_day === null ? "–" : (v.trend_per_day >= 0 ? "+" : "") + v.trend_per_day.toFixed(1);
  const counts = ["hits", "hits"], cross = ["cross_border", "cross-border"];
  const party = federated ? [["party", "party"]] : [];
  for (const p of v.parties) {
    if (![...$("party").options].some(o => o.value === p)) $("party").append(el("option", {value: p}, p));
  }
  table("t-party", v.per_party, [["key", "party"], counts, cross]);
  table("t-site", v.per_site, [["key", "crossing"], ...party, counts, cross]);
  table("t-list", v.per_list, [["key", "list"], ...party, counts, cross]);
  table("t-category", v.per_category, [["key", "category"], ...party, counts, cross]);
  table("t-flow", v.per_flow, [["key", "direction"], ...party, counts, cross]);
  table("t-verdicts", v.verdicts, [...party, ["list_name", "list"], ["match_kind", "match kind"], ["verdicts", "verdicts"],
    ["confirmed", "confirmed"], ["false_hit", "false hits"], ["no_action", "no action"], ["false_hit_rate", "false-hit rate"]]);
  const perHour = byKey(v.per_hour);
  const hours = Array.from({length: 24}, (_, h) => perHour.find(r => r.key === String(h)) || {key: String(h), hits: 0, cross_border: 0});
  bars($("hours"), hours, 480, 140, k => k);
  bars($("days"), byKey(v.per_day), 960, 160, k => k.slice(5));
  bars($("day-hours"), byKey(v.per_day_hour), 960, 160, k => k.slice(11) === "00" ? k.slice(5, 10) : k.slice(11));
  const sites = byKey(v.per_site);
  const bySite = Object.fromEntries(sites.map(r => [r.key, r]));
  const most = Math.max(1, ...sites.map(r => r.hits));
  const at = drawMap($("map"), map, 400, 480, s => bySite[s]
    ? [3 + 13 * Math.sqrt(bySite[s].hits / most), "hits", `${s}: ${bySite[s].hits} hits, ${bySite[s].cross_border} cross-border`]
    : null);
  for (const [site, p] of Object.entries(map.sites)) {
    const [x, y] = at(p);
    $("map").append(el("text", {x: x + 8, y: y + 4, class: "label"}, `${site}${bySite[site] ? " " + bySite[site].hits : ""}`));
  }
  document.body.dataset.hits = v.hits;
}

(async () => {
  const me = await whoAmI();
  $("nav-alerts").hidden = !me.sees_plates;
  federated = !!me.federation;
  $("party-label").hidden = !federated;
  document.querySelectorAll(".federated").forEach(e => e.hidden = !federated);
  map = await loadMap();
  $("from").onchange = $("to").onchange = $("party").onchange = refresh;
  await refresh();
  let pending = false;
  const source = new EventSource("/api/events");
  source.addEventListener("counts", async () => {
    if (pending) return;
    pending = true;
    try { await refresh(); } finally { pending = false; }
  });
  document.body.dataset.ready = "1";
})();
