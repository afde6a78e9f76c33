"""Pictures from maps: colour and blend, the heads-up display, the window."""
