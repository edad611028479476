"""Where the crossings stand, for the console's map (drawn from these coordinates: map tiles from
the internet are not reachable everywhere the console runs). Approximate WGS84 (lat, lon) of the
Limburg border crossings the simulator's cameras watch; `console.sites` in the settings adds others."""

from __future__ import annotations

SITES: dict[str, tuple[float, float]] = {
    "A2 Eijsden": (50.7745, 5.7105),
    "E25 Visé-Lixhe": (50.7530, 5.6740),
    "Smeermaas": (50.9510, 5.7340),
    "Lanaken": (50.8930, 5.6470),
    "A76 Stein": (50.9700, 5.7660),
    "E314 Maasmechelen": (50.9650, 5.6930),
    "Roosteren": (51.0820, 5.8160),
    "Maaseik": (51.0930, 5.7910),
    "Thorn": (51.1610, 5.8410),
    "Kessenich": (51.1490, 5.8200),
    "A76 Bocholtz": (50.8200, 6.0300),
    "A67 Venlo": (51.3700, 6.1200),
}

# The border between Dutch Limburg and Belgium (mostly the Maas), roughly, north to south, then
# the border with Germany south to north: enough to tell the sides apart on the map.
BORDER_BE_NL: tuple[tuple[float, float], ...] = (
    (51.2500, 5.5600), (51.1800, 5.8400), (51.1300, 5.8100), (51.0500, 5.7700), (50.9700, 5.7500),
    (50.9000, 5.7200), (50.8400, 5.6900), (50.7550, 5.6900),
)  # fmt: skip
BORDER_NL_DE: tuple[tuple[float, float], ...] = (
    (50.7550, 6.0200), (50.8300, 6.0300), (50.9200, 6.0800), (51.0500, 5.9600), (51.1700, 6.0800),
    (51.3000, 6.2000), (51.4200, 6.2100),
)  # fmt: skip


def site_coordinates(extra: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {**SITES, **extra}
