"""Clothing: the torso crop under a face and its embedding (CNN, colour histogram)."""
