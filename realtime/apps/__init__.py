"""Applications built on the engine: the live loop, the video and image jobs, the demo."""
