"""The match stage: the watchlist (a live table of entries), its plate index and the rules of a hit."""
