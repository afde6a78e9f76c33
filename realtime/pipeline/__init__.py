"""The capture -> process -> output pipeline, its quality-switching process stage and its stats."""
