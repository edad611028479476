"""anpr-engine: streaming ANPR hit matching of border-camera reads against shared watchlists."""
