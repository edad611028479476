"""The quality harness on reads with country noise, under both country policies."""

from benchmarks.quality import COUNTRY_POLICIES, DEFAULT, bench_quality


def test_both_country_policies_are_measured_and_lenient_finds_the_misread_countries() -> None:
    rows = bench_quality([2_000], 20_000, listed_share=0.1)
    by = {r["policy"]: r for r in rows}
    assert DEFAULT in by and {p.split("/")[1] for p in by} == set(COUNTRY_POLICIES)
    strict, lenient = by["format_2/strict"], by["format_2/lenient"]
    assert strict["missed_with_wrong_country"] > 0  # a wrong plate country costs strict its hits
    assert lenient["missed_with_wrong_country"] < strict["missed_with_wrong_country"]
    assert lenient["recall"] > strict["recall"]
    for name in by:  # looser country policy: at least the same hits, so never fewer false alerts
        if name.endswith("/strict"):
            assert by[name.replace("/strict", "/lenient")]["false_alerts"] >= by[name]["false_alerts"]
