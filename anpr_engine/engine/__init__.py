"""The engine loop: its ports (source, sinks), the batch step, repeat suppression, retro-hits, metrics."""
