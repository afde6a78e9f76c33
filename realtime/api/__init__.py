"""saliency-cam's public API (placeholder while restructuring)."""
