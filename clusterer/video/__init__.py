"""Reading a video: probing, sampling frames at a fixed rate, scene cuts."""
