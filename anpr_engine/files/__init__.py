"""Files: read files and watchlist files (Parquet, JSON lines, CSV)."""
