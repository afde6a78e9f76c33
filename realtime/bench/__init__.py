"""``saliency-cam bench``: FPS across qualities, devices and precisions, with a hardware
fingerprint."""
