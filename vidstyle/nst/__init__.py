"""Optimisation-based style transfer (Gatys et al.) and the perceptual losses that training and evaluation share."""
