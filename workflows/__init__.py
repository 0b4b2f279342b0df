"""Case workflows: durable, deterministic, driven by domain/ decisions."""
