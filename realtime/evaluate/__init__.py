"""Scoring saliency maps against eye-tracking ground truth (MIT benchmark metrics)."""
