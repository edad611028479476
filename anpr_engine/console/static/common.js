// Shared by the pages: who is logged in (and the console's place in a federation), the no-login
// banner, log out, and the map projection.
"use strict";

const $ = id => document.getElementById(id);

async function whoAmI() {
  const r = await fetch("/api/me");
  if (r.status === 401) { location.href = "/login"; throw new Error("not logged in"); }
  const me = await r.json();
  $("who").textContent = `${me.name} (${me.role}${me.agency ? ", " + me.agency : ""})`;
  const f = me.federation;
  $("place").textContent = !f ? "" : f.role === "centre" ? `joint centre ${f.party.toUpperCase()} (read-only)` : `party ${f.party.toUpperCase()}`;
  $("no-login").hidden = !me.no_login;
  $("logout").hidden = me.no_login;
  $("logout").onclick = async () => {
    await fetch("/api/logout", {method: "POST"});
    location.href = "/login";
  };
  return me;
}

function el(tag, attrs = {}, text = null) {
  const ns = ["svg", "circle", "polyline", "text", "rect", "line", "g", "title"].includes(tag)
    ? "http://www.w3.org/2000/svg" : null;
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

// An equirectangular projection of the map's coordinates into an SVG box, longitudes scaled by cos(lat).
function projection(points, width, height, pad) {
  const lats = points.map(p => p[0]), lons = points.map(p => p[1]);
  const [la0, la1, lo0, lo1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const k = Math.cos((la0 + la1) / 2 * Math.PI / 180);
  const scale = Math.min((width - 2 * pad) / ((lo1 - lo0) * k || 1), (height - 2 * pad) / ((la1 - la0) || 1));
  return ([lat, lon]) => [pad + (lon - lo0) * k * scale, height - pad - (lat - la0) * scale];
}

let mapData = null;
async function loadMap() {
  if (!mapData) mapData = await (await fetch("/api/map")).json();
  return mapData;
}

// Draws the border lines and the crossings into an SVG; marks(site) gives [radius, class, label] or null.
function drawMap(svg, map, width, height, marks) {
  svg.replaceChildren();
  const all = Object.values(map.sites).concat(...map.borders);
  const at = projection(all, width, height, 12);
  for (const line of map.borders) {
    svg.append(el("polyline", {points: line.map(p => at(p).join(",")).join(" "), class: "border"}));
  }
  for (const [site, p] of Object.entries(map.sites)) {
    const [x, y] = at(p);
    const m = marks(site);
    const dot = el("circle", {cx: x, cy: y, r: m ? m[0] : 2, class: m ? m[1] : "site", "data-site": site});
    dot.append(el("title", {}, m ? m[2] : site));
    svg.append(dot);
  }
  return at;
}
