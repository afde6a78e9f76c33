"""Saliency-driven reframing: video to other aspect ratios with a smooth camera path
(:mod:`.job`), and image crops for every layout (:mod:`.crop`)."""
