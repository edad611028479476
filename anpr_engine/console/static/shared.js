// The shared view: counts from /api/shared for the chosen period, fetched again when they change.
"use strict";

let map = null;

function query() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  return q.toString();
}

function table(id, rows, cols) {
  const t = $(id);
  t.replaceChildren(el("tr", {}));
  cols.forEach(([, title]) => t.firstChild.append(el("th", {}, title)));
  for (const r of rows) {
    const tr = el("tr", {"data-key": r.key ?? `${r.list_name}|${r.match_kind}`});
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
  $("hits").textContent = v.hits;
  $("cross").textContent = v.cross_border;
  $("share").textContent = v.cross_border_share === null ? "–" : (100 * v.cross_border_share).toFixed(1) + " %";
  $("trend").textContent = v.trend_per_day === null ? "–" : (v.trend_per_day >= 0 ? "+" : "") + v.trend_per_day.toFixed(1);
  const counts = ["hits", "hits"], cross = ["cross_border", "cross-border"];
  table("t-site", v.per_site, [["key", "crossing"], counts, cross]);
  table("t-list", v.per_list, [["key", "list"], counts, cross]);
  table("t-category", v.per_category, [["key", "category"], counts, cross]);
  table("t-flow", v.per_flow, [["key", "direction"], counts, cross]);
  table("t-verdicts", v.verdicts, [["list_name", "list"], ["match_kind", "match kind"], ["verdicts", "verdicts"],
    ["confirmed", "confirmed"], ["false_hit", "false hits"], ["no_action", "no action"], ["false_hit_rate", "false-hit rate"]]);
  const hours = Array.from({length: 24}, (_, h) => v.per_hour.find(r => r.key === String(h)) || {key: String(h), hits: 0, cross_border: 0});
  bars($("hours"), hours, 480, 140, k => k);
  bars($("days"), v.per_day, 960, 160, k => k.slice(5));
  const bySite = Object.fromEntries(v.per_site.map(r => [r.key, r]));
  const most = Math.max(1, ...v.per_site.map(r => r.hits));
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
  map = await loadMap();
  $("from").onchange = $("to").onchange = refresh;
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
