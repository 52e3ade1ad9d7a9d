"""Time: optical flow on input frames, the flicker metric, the stabiliser, and evaluation of renders."""
